#!/usr/bin/env python3
"""RQ (python-rq) against rizzler, through its public API: enqueue, a worker
processes, failure and retry, delayed jobs, the registries.

RQ is pinned to 1.11 (see .ci/run): from 1.12 on, RQ keeps job results in a
stream (XADD), which rizzler does not have yet.

Usage: rq_test.py PORT   (rizzler already listening on 127.0.0.1:PORT)
"""

import os
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redis import Redis  # noqa: E402
from rq import Queue, Retry, Worker  # noqa: E402
from rq.job import JobStatus  # noqa: E402
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry  # noqa: E402

import rq_jobs  # noqa: E402


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def main():
    port = int(sys.argv[1])
    conn = Redis(host="127.0.0.1", port=port)
    conn.flushall()
    q = Queue("default", connection=conn)

    # Enqueue and process.
    jobs = [q.enqueue(rq_jobs.add, i, i) for i in range(20)]
    check(q.count == 20, "20 jobs enqueued")
    Worker([q], connection=conn).work(burst=True)
    for i, j in enumerate(jobs):
        j.refresh()
        check(j.get_status() == JobStatus.FINISHED and j.result == 2 * i, f"job {i} finished with {2 * i}")
    check(len(FinishedJobRegistry(queue=q)) == 20, "finished registry holds 20 jobs")
    check(q.count == 0, "queue drained")

    # Failure, and retry until success.
    marker = tempfile.mktemp()
    flaky = q.enqueue(rq_jobs.fail_until, marker, 2, retry=Retry(max=3))
    broken = q.enqueue(rq_jobs.always_fail, retry=Retry(max=1))
    for _ in range(5):
        Worker([q], connection=conn).work(burst=True)
    flaky.refresh()
    broken.refresh()
    check(flaky.get_status() == JobStatus.FINISHED and flaky.result == "recovered",
          "a flaky job retried twice, then finished")
    check(broken.get_status() == JobStatus.FAILED, "a broken job failed after its retry")
    failed = FailedJobRegistry(queue=q)
    check(broken.id in failed.get_job_ids(), "the failed registry holds it")
    check("broken job" in (broken.exc_info or ""), "its exception is recorded")
    failed.requeue(broken.id)
    check(q.count == 1, "requeued from the failed registry")
    Worker([q], connection=conn).work(burst=True)

    # Scheduled (delayed) jobs.
    later = q.enqueue_in(timedelta(seconds=1), rq_jobs.add, 40, 2)
    check(later.id in ScheduledJobRegistry(queue=q).get_job_ids(), "a delayed job is scheduled")
    check(later.get_status() == JobStatus.SCHEDULED, "its status is scheduled")
    time.sleep(1.5)
    Worker([q], connection=conn).work(burst=True, with_scheduler=True)
    later.refresh()
    check(later.get_status() == JobStatus.FINISHED and later.result == 42, "the delayed job ran when due")
    print("RQ: all checks passed")


if __name__ == "__main__":
    main()
