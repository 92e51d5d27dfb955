/**
 * Reliability: mutated GGUF files (support/gguf-fuzz.ts) loaded in a child process by the reader
 * and the native engine: no signal, no hang, every rejection names the problem. `npm test` loads
 * GGUF_FUZZ_RUNS files; `npm run soak` loads 10,000.
 */
import { describe, expect, it } from "vitest";
import { fuzzGguf, rejectionProblem } from "./support/gguf-fuzz.js";

const RUNS = Number(process.env.GEARBOX_GGUF_FUZZ_RUNS ?? 1000);

describe("GGUF fuzz", () => {
  it("knows a rejection that names the problem from one that does not (so the check can fail)", () => {
    expect(rejectionProblem("GgufError: x.gguf: tensor count 1099511627775 is impossible")).toBeUndefined();
    expect(rejectionProblem("Error: std::bad_alloc")).toBeDefined();
    expect(rejectionProblem("Error: something went wrong")).toBeDefined();
    expect(rejectionProblem("non-Error thrown: 3")).toBeDefined();
  });

  it(`loads ${RUNS} mutated files in a child process: no crash, every rejection named`, async () => {
    const stats = await fuzzGguf({ runs: RUNS, seed: 1204 });
    console.log(
      `gguf fuzz: ${stats.files} files, ${stats.loaded} loaded and ran, ${stats.rejected} rejected; reasons ${JSON.stringify(stats.reasons)}`,
    );
    expect(stats.crashes).toEqual([]);
    expect(stats.badRejections).toEqual([]);
    expect(stats.files).toBe(RUNS);
    expect(stats.rejected).toBeGreaterThan(RUNS / 2);
  }, 180_000);
});
