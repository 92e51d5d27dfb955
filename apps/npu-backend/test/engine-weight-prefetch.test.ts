/**
 * The CPU engine's choice of software prefetch for one-token passes (decode of one sequence):
 * the real chooser (testing.weightPrefetchChooser) against pass timings built here — one way
 * faster, a host whose state flips, noise — and the real engine: both ways compute the same
 * logits, `auto` runs both and reports it, and a bad GEARBOX_WEIGHT_PREFETCH is a clear error.
 */
import { afterAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel, type SamplingParams } from "../src/engine/engine.js";
import { nativeAddon } from "../src/engine/native.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";
import { rng } from "./support/rng.js";

const T = nativeAddon().testing;
const OPENING = 16; // 8 pairs of passes, one each way
const PERIOD = 17; // after the opening: 16 passes the preferred way, then one trial

/** Pass timings: `on(i)` / `off(i)` ms without noise, times 1 ± noise (seeded). */
function timings(n: number, on: (i: number) => number, off: (i: number) => number, noise: number, seed = 1) {
  const r = rng(seed);
  const jitter = () => 1 + noise * (2 * r() - 1);
  return {
    on: Float64Array.from({ length: n }, (_, i) => on(i) * jitter()),
    off: Float64Array.from({ length: n }, (_, i) => off(i) * jitter()),
  };
}
const share = (ways: Uint8Array, from: number, to: number) =>
  ways.slice(from, to).reduce((a, w) => a + w, 0) / (to - from);

describe("the weight prefetch chooser", () => {
  it("opens with pairs of both ways, then keeps the faster and tries the other once per period", () => {
    for (const [offMs, want] of [
      [36, false], // off 10% faster
      [44, true], // on 10% faster
    ] as const) {
      const t = timings(
        1000,
        () => 40,
        () => offMs,
        0.03,
      );
      const r = T.weightPrefetchChooser("auto", t.on, t.off);
      expect(share(r.ways, 0, OPENING)).toBe(0.5);
      expect(r.on).toBe(want);
      expect(r.switches).toBe(0);
      // After the opening: the preferred way but for one trial in each period.
      const rest = share(r.ways, OPENING, 1000);
      const trials = want ? 1 - rest : rest;
      expect(trials).toBeGreaterThan(0.5 / PERIOD);
      expect(trials).toBeLessThan(1.5 / PERIOD);
      expect(r.trials).toBe(OPENING / 2 + Math.round((1000 - OPENING) * trials));
    }
  });

  it("follows the host when the faster way changes, within a few hundred passes", () => {
    // Off 12% faster for 800 passes, then on 15% faster (the latency rose) for 800, then back.
    const phase = (i: number) => Math.floor(i / 800) % 2;
    const t = timings(
      2400,
      () => 40,
      (i) => (phase(i) === 0 ? 35.2 : 46),
      0.04,
      7,
    );
    const r = T.weightPrefetchChooser("auto", t.on, t.off);
    expect(share(r.ways, 400, 800)).toBeLessThan(0.15); // off preferred
    expect(share(r.ways, 1100, 1600)).toBeGreaterThan(0.85); // on preferred after the change
    expect(share(r.ways, 1900, 2400)).toBeLessThan(0.15); // off again
    expect(r.switches).toBeGreaterThanOrEqual(2);
    expect(r.on).toBe(false);
  });

  it("keeps prefetching when neither way is faster, and forced modes never try the other", () => {
    const t = timings(
      600,
      () => 40,
      () => 40,
      0,
    );
    const r = T.weightPrefetchChooser("auto", t.on, t.off);
    expect(r.on).toBe(true);
    expect(r.switches).toBe(0);
    const slowOn = timings(
      300,
      () => 60,
      () => 30,
      0.02,
    );
    for (const mode of ["on", "off"] as const) {
      const f = T.weightPrefetchChooser(mode, slowOn.on, slowOn.off);
      expect(share(f.ways, 0, 300)).toBe(mode === "on" ? 1 : 0);
      expect(f).toMatchObject({ on: mode === "on", switches: 0, trials: 0 });
    }
  });

  it("rejects a bad mode or mismatched timings with a clear error", () => {
    const a = new Float64Array(4);
    expect(() => T.weightPrefetchChooser("sometimes" as "auto", a, a)).toThrow(
      /mode must be auto, on or off/,
    );
    expect(() => T.weightPrefetchChooser("auto", a, new Float64Array(3))).toThrow(/same length/);
  });
});

describe("the engine's one-token passes, both ways", () => {
  const greedy: SamplingParams = { ...defaultSampling, temperature: 0 };
  const models: EngineModel[] = [];
  const saved = process.env.GEARBOX_WEIGHT_PREFETCH;
  afterAll(async () => {
    if (saved === undefined) delete process.env.GEARBOX_WEIGHT_PREFETCH;
    else process.env.GEARBOX_WEIGHT_PREFETCH = saved;
    await Promise.all(models.map((m) => m.close()));
  });

  /** A tiny model loaded with GEARBOX_WEIGHT_PREFETCH=mode (read when the engine is made). */
  async function load(mode: string): Promise<EngineModel> {
    process.env.GEARBOX_WEIGHT_PREFETCH = mode;
    try {
      const model = await nativeEngine.loadModel(await ensureModel("tiny", "q8_0"), {
        threads: 2,
        contextLength: 256,
        kvCacheMiB: 16,
        gears: { prefill: [16], decodeBatch: [1], warm: "all" },
      });
      models.push(model);
      return model;
    } finally {
      delete process.env.GEARBOX_WEIGHT_PREFETCH;
    }
  }

  /** The logits of `steps` greedy decode steps of one sequence after a short prompt. */
  async function decode(model: EngineModel, steps: number): Promise<number[][]> {
    const { seq } = await model.createSequence(greedy);
    let feed = [1000, 2000, 3000];
    const out: number[][] = [];
    for (let i = 0; i < steps; i++) {
      const [r] = await model.step([{ seq, tokens: feed, sample: true, returnLogits: true }]);
      out.push(Array.from(r?.logits as Float32Array));
      feed = [r?.token as number];
    }
    await model.freeSequence(seq);
    return out;
  }

  it("computes the same logits with and without prefetch, and `auto` runs both", async () => {
    const [auto, on, off] = [await load("auto"), await load("on"), await load("off")];
    const steps = 40; // the first is the prompt; 39 one-token passes cover the 16-pass opening
    const want = await decode(on, steps);
    expect(await decode(off, steps)).toEqual(want);
    expect(await decode(auto, steps)).toEqual(want);
    expect(on.profile().weightPrefetch).toEqual({ mode: "on", on: true, switches: 0, trials: 0 });
    expect(off.profile().weightPrefetch).toEqual({ mode: "off", on: false, switches: 0, trials: 0 });
    const state = auto.profile().weightPrefetch;
    expect(state?.mode).toBe("auto");
    // The opening ran 8 passes the way not preferred at first (more if warm-up passes count).
    expect(state?.trials).toBeGreaterThanOrEqual(8);
  });

  it("refuses a GEARBOX_WEIGHT_PREFETCH it does not know, naming the allowed values", async () => {
    await expect(load("sometimes")).rejects.toThrow(/GEARBOX_WEIGHT_PREFETCH must be auto, on or off/);
  });
});
