// BullMQ against rizzler, through its public API: add, a worker processes,
// failure and retry, delayed jobs, completed. BullMQ's Lua scripts use
// cmsgpack, cjson and streams (XADD/XTRIM for its events), so this needs
// rizzler's streams; see tests/ecosystem/README.md for how to enable it.
//
// Usage: node bullmq_test.mjs PORT   (rizzler listening on 127.0.0.1:PORT)
import { Queue, Worker, QueueEvents } from 'bullmq';

const port = Number(process.argv[2]);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const queue = new Queue('eco', { connection });
await queue.obliterate({ force: true }).catch(() => {});
const events = new QueueEvents('eco', { connection });
await events.waitUntilReady();

let flakyAttempts = 0;
const worker = new Worker('eco', async (job) => {
  if (job.name === 'add') return job.data.a + job.data.b;
  if (job.name === 'flaky') {
    flakyAttempts += 1;
    if (flakyAttempts < 3) throw new Error(`attempt ${flakyAttempts} fails`);
    return 'recovered';
  }
  if (job.name === 'broken') throw new Error('broken job');
  return null;
}, { connection, concurrency: 4 });

const adds = await Promise.all([...Array(20).keys()].map((i) => queue.add('add', { a: i, b: i })));
const results = await Promise.all(adds.map((j) => j.waitUntilFinished(events, 10000)));
check(results.every((r, i) => r === 2 * i), '20 jobs processed with their results');

const flaky = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
check(await flaky.waitUntilFinished(events, 10000) === 'recovered', 'a flaky job retried, then completed');
const broken = await queue.add('broken', {}, { attempts: 2 });
let failedWith = '';
try { await broken.waitUntilFinished(events, 10000); } catch (e) { failedWith = e.message; }
check(failedWith.includes('broken job'), 'a broken job failed after its attempts');
check((await queue.getFailedCount()) === 1, 'the failed set holds it');
check((await broken.getState()) === 'failed' && (await queue.getJob(broken.id)).attemptsMade === 2, 'it was attempted twice');

const start = Date.now();
const delayed = await queue.add('add', { a: 40, b: 2 }, { delay: 1000 });
check((await delayed.getState()) === 'delayed', 'a delayed job waits');
check(await delayed.waitUntilFinished(events, 10000) === 42 && Date.now() - start >= 1000, 'it ran when due');
check((await queue.getCompletedCount()) === 22, 'the completed set holds every finished job (20, the flaky one, the delayed one)');

await worker.close();
await events.close();
await queue.close();
console.log('BullMQ: all checks passed');
