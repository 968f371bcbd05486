"""redis-py against CLIENT TRACKING, through its public API: a RESP2
connection tracks with REDIRECT to a pub/sub connection subscribed to
__redis__:invalidate (the RESP2 way client-side caches hear of changes),
and a RESP3 connection receives invalidations as pushes. (redis-py's own
CacheConfig refuses servers older than 7.4; rizzler reports 7.0.)
Usage: csc_redis_py.py PORT. Exits non-zero on failure."""
import sys
import time

import redis

port = int(sys.argv[1])
plain = redis.Redis(port=port, protocol=2)
plain.flushall()

# RESP2: invalidations arrive as messages on the redirection target.
listener = redis.Redis(port=port, protocol=2).pubsub()
listener.subscribe("__redis__:invalidate")
assert listener.get_message(timeout=5)["type"] == "subscribe"
# The subscriber's id, from the server's own list.
listener_id = next(int(c["id"]) for c in plain.client_list() if "P" in c["flags"])

tracker = redis.Redis(port=port, protocol=2, single_connection_client=True)
tracker.client_tracking_on(clientid=listener_id)
assert tracker.client_getredir() == listener_id
tracker.get("k")
tracker.mget("k2", "k3")
info = tracker.client_trackinginfo()
assert info[:4] == ["flags", [b"on"], "redirect", listener_id], info


def next_invalidation():
    deadline = time.time() + 5
    while time.time() < deadline:
        m = listener.get_message(timeout=1)
        if m and m["type"] == "message":
            return m
    raise AssertionError("no invalidation arrived")


plain.set("k", "v")
m = next_invalidation()
assert m["channel"] == b"__redis__:invalidate", m
assert m["data"] == [b"k"], m
plain.set("k3", "v")
assert next_invalidation()["data"] == [b"k3"]
plain.flushall()
assert next_invalidation()["data"] is None
tracker.client_tracking_off()
assert tracker.client_getredir() == -1

# RESP3: the tracking connection itself gets `invalidate` pushes.
r3 = redis.Redis(port=port, protocol=3, single_connection_client=True)
r3.client_tracking_on()
r3.set("own", "1")
r3.get("own")
plain.set("own", "2")
pushes = []
conn = r3.connection
conn._parser.set_invalidation_push_handler(pushes.append)
deadline = time.time() + 5
while not pushes and time.time() < deadline:
    if conn.can_read(timeout=0.1):
        conn.read_response(push_request=True)
assert pushes and pushes[0][0] in (b"invalidate", "invalidate"), pushes
assert pushes[0][1] == [b"own"], pushes
print("redis-py tracking: ok")
