/**
 * The CPU backend's KV storage: the blocks a model load commits are resident before any request
 * writes them (so a first prompt pays no page faults), and the rest of the budget is not (so an
 * idle server does not hold it all). mincore() reports residency page by page.
 */
import { describe, expect, it } from "vitest";
import { nativeAddon } from "../src/engine/native.js";

const T = nativeAddon().testing;

describe("KV storage memory", () => {
  // 2 layers, 2 KV heads, head_dim 64, 16-token blocks: 4 KiB of K (and of V) per block and layer,
  // so each layer's K region of 4096 blocks is 16 MiB and its last block lies far past the first.
  it("commits the first blocks of every layer at load and leaves the rest uncommitted", () => {
    for (const commit of [1, 32, 200]) {
      const r = T.kvStorageResidency(2, 2, 64, 16, 4096, commit);
      expect(r.hugeAligned).toBe(true);
      expect(r.committed).toBe(2 * 2 * commit);
      expect(r.committedResident).toBe(r.committed);
      expect(r.tail).toBe(2 * 2);
      expect(r.tailResident).toBe(0);
    }
  });

  // Weights, gear arenas and the KV cache come from one helper that places them on a 2 MiB boundary
  // itself, so huge pages back them from their first byte on kernels that do not align mappings.
  it("places every huge-page mapping on a 2 MiB boundary, its size rounded up to 2 MiB", () => {
    const MiB = 1 << 20;
    for (const bytes of [1, 4096, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 5 * MiB + 123, 64 * MiB])
      for (const lazy of [false, true]) {
        const r = T.hugeMap(bytes, lazy);
        expect(r.aligned).toBe(true);
        expect(r.size).toBe(Math.ceil(bytes / (2 * MiB)) * 2 * MiB);
      }
    expect(() => T.hugeMap(0)).toThrow(/bad hugeMap size/);
  });

  it("rejects nonsense geometry with an error, not a crash", () => {
    expect(() => T.kvStorageResidency(0, 2, 64, 16, 4096, 1)).toThrow(/bad kv storage arguments/);
    expect(() => T.kvStorageResidency(2, 2, 64, 16, 8, 8)).toThrow(/bad kv storage arguments/);
  });
});
