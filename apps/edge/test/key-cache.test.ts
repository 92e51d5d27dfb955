import { describe, expect, it } from "vitest";
import { KeyCache } from "../src/auth/key-cache.js";

const record = (name: string) => ({
  hash: "0".repeat(64),
  name,
  models: null,
  rpm: null,
  tpm: null,
  created: 0,
});

describe("KeyCache", () => {
  it("keeps a record for its time to live only", () => {
    let now = 0;
    const cache = new KeyCache(1000, 10, () => now);
    cache.set("h", record("a"));
    now = 999;
    expect(cache.get("h")?.name).toBe("a");
    now = 1000;
    expect(cache.get("h")).toBeUndefined();
  });

  it("holds at most maxEntries, dropping the oldest", () => {
    const cache = new KeyCache(1000, 2, () => 0);
    cache.set("a", record("a"));
    cache.set("b", record("b"));
    cache.set("c", record("c"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")?.name).toBe("b");
    expect(cache.get("c")?.name).toBe("c");
  });

  it("expires a record the TTL after it was read from KV, however often it is used (revocation applies)", async () => {
    let now = 0;
    const cache = new KeyCache(10_000, 10, () => now);
    let stored: ReturnType<typeof record> | undefined = record("a");
    const read = async () => stored;
    expect((await cache.lookup("h", read))?.name).toBe("a");
    stored = undefined; // revoked in KV
    const found: boolean[] = [];
    for (now = 1000; now <= 15_000; now += 1000) found.push((await cache.lookup("h", read)) !== undefined);
    // Served from the cache until 10 s after the read, refused from then on.
    expect(found).toEqual([...Array(9).fill(true), ...Array(6).fill(false)]);
  });
});
