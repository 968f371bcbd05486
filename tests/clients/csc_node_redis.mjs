// node-redis's client-side cache against a server: reads come from the
// cache until the server's invalidation (CLIENT TRACKING, RESP3 push) says
// the key changed. Usage: node csc_node_redis.mjs PORT
import { createClient } from "redis";

const port = Number(process.argv[2]);
const url = `redis://127.0.0.1:${port}`;
const plain = await createClient({ url }).connect();
const cached = await createClient({
  url,
  RESP: 3,
  clientSideCache: { ttl: 0, maxEntries: 0, evictPolicy: "LRU" },
}).connect();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, f) {
  const deadline = Date.now() + 5000;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(what);
    await sleep(10);
  }
}

await plain.flushAll();
await plain.configResetStat();
await plain.set("k", "v1");
for (let i = 0; i < 3; i++) {
  if ((await cached.get("k")) !== "v1") throw new Error("first read");
}
const stats = await plain.info("commandstats");
const calls = Number(/cmdstat_get:calls=(\d+)/.exec(stats)[1]);
if (calls !== 1) throw new Error(`expected 1 GET on the server, saw ${calls}`);

await plain.set("k", "v2");
await until("the cache never saw the invalidation", async () => (await cached.get("k")) === "v2");
await plain.flushAll();
await until("GET stayed cached after FLUSHALL", async () => (await cached.get("k")) === null);

await cached.quit();
await plain.quit();
console.log("node-redis client-side cache: ok");
