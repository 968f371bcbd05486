"""Job functions the RQ ecosystem test enqueues (a worker imports them)."""

import os


def add(a, b):
    return a + b


def fail_until(marker, times):
    """Fails `times` times (counted in a file), then succeeds."""
    n = int(open(marker).read()) if os.path.exists(marker) else 0
    with open(marker, "w") as f:
        f.write(str(n + 1))
    if n < times:
        raise RuntimeError(f"attempt {n + 1} fails")
    return "recovered"


def always_fail():
    raise ValueError("broken job")
