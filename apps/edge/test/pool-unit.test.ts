/** UpstreamPool's decisions with a controlled clock (plain unit tests: the pool is pure state). */
import { describe, expect, it } from "vitest";
import { UpstreamPool } from "../src/upstream/pool.js";

function poolAt(urls: string[]) {
  let now = 1_000_000;
  const pool = new UpstreamPool(urls, { now: () => now, backoffBaseMs: 1000, backoffMaxMs: 8000 });
  return { pool, advance: (ms: number) => (now += ms) };
}

describe("UpstreamPool", () => {
  it("picks the least loaded, counting its own requests and the others' reported load", () => {
    const { pool } = poolAt(["http://a", "http://b"]);
    const [a, b] = pool.upstreams;
    if (!a || !b) throw new Error("setup");
    pool.acquire(a);
    expect(pool.pick("m")).toBe(b);
    pool.acquire(b);
    pool.acquire(b);
    expect(pool.pick("m")).toBe(a);
    // b reports 2 running: both ours, so nobody else's.
    pool.reportSuccess(b, 2);
    expect(b.othersLoad).toBe(0);
    pool.release(b);
    pool.release(b);
    expect(pool.pick("m")).toBe(b);
    // a reports 4 running, 1 of them ours: 3 others.
    pool.reportSuccess(a, 4);
    pool.release(a);
    expect(a.othersLoad).toBe(3);
    expect(pool.pick("m")).toBe(b);
  });

  it("prefers backends that list the model, else any", () => {
    const { pool } = poolAt(["http://a", "http://b"]);
    const [a, b] = pool.upstreams;
    if (!a || !b) throw new Error("setup");
    pool.applyHealth(a, { healthy: true, models: ["en"], load: 5 });
    pool.applyHealth(b, { healthy: true, models: ["zh"], load: 0 });
    expect(pool.pick("en")).toBe(a);
    expect(pool.pick("zh")).toBe(b);
    expect(pool.pick("auto")).toBe(b);
  });

  it("skips what was tried for this request", () => {
    const { pool } = poolAt(["http://a", "http://b"]);
    const [a, b] = pool.upstreams;
    if (!a || !b) throw new Error("setup");
    expect(pool.pick("m", new Set([a]))).toBe(b);
    expect(pool.pick("m", new Set([a, b]))).toBeUndefined();
  });

  it("rotates among equals", () => {
    const { pool } = poolAt(["http://a", "http://b", "http://c"]);
    const picked = new Set(Array.from({ length: 6 }, () => pool.pick("m")?.url));
    expect(picked).toEqual(new Set(["http://a", "http://b", "http://c"]));
  });

  it("backs a failing backend off exponentially up to the cap, and forgets on success", () => {
    const { pool, advance } = poolAt(["http://a"]);
    const [a] = pool.upstreams;
    if (!a) throw new Error("setup");
    const backoffs: number[] = [];
    for (let i = 0; i < 5; i++) {
      pool.reportFailure(a, "refused");
      expect(pool.available()).toEqual([]);
      expect(pool.pick("m")).toBeUndefined();
      const seconds = pool.retryAfterSeconds();
      backoffs.push(seconds);
      advance(seconds * 1000); // back in, then failing again
    }
    expect(backoffs).toEqual([1, 2, 4, 8, 8]);
    expect(a.lastError).toBe("refused");
    pool.reportSuccess(a);
    expect(pool.available()).toEqual([a]);
    expect(a.failures).toBe(0);
  });

  it("lets a backend back in when its back-off is over", () => {
    const { pool, advance } = poolAt(["http://a"]);
    const [a] = pool.upstreams;
    if (!a) throw new Error("setup");
    pool.reportFailure(a, "timeout");
    advance(999);
    expect(pool.pick("m")).toBeUndefined();
    advance(1);
    expect(pool.pick("m")).toBe(a);
  });

  it("probes all backends at most once per interval", async () => {
    const { pool, advance } = poolAt(["http://a", "http://b"]);
    expect(pool.needsCheck(5000)).toBe(true);
    const probed: string[] = [];
    const round = pool.checkAll(async (upstream) => {
      probed.push(upstream.url);
      return upstream.url === "http://a"
        ? { healthy: true, models: ["m"], load: 1 }
        : { healthy: false, reason: "503" };
    });
    expect(pool.needsCheck(0)).toBe(false); // one round at a time
    await round;
    expect(probed).toEqual(["http://a", "http://b"]);
    expect(pool.available().map((u) => u.url)).toEqual(["http://a"]);
    expect(pool.needsCheck(5000)).toBe(false);
    advance(5000);
    expect(pool.needsCheck(5000)).toBe(true);
  });
});
