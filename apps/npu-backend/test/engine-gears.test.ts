/**
 * Gears (docs/engine.md): plans per shape bucket, hits for any size inside a bucket, misses that never
 * block (the generic plan runs, the gear builds in the background), an LRU bounded by bytes, and
 * persisted plans that are verified on load (a corrupted file is rebuilt and reported).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel, type GearOptions } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

let path: string;
let dir: string;
const greedy = { ...defaultSampling, temperature: 0 };

beforeAll(async () => {
  path = await ensureModel("tiny", "q8_0");
  dir = await mkdtemp(join(tmpdir(), "gearbox-gears-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function load(gears: GearOptions): Promise<EngineModel> {
  return nativeEngine.loadModel(path, { threads: 2, contextLength: 256, kvCacheMiB: 16, gears });
}

async function prefill(model: EngineModel, n: number) {
  const { seq } = await model.createSequence(greedy);
  const tokens = Array.from({ length: n }, (_, i) => 2000 + i * 13 + n);
  const [r] = await model.step([{ seq, tokens, sample: true, returnLogits: true }]);
  await model.freeSequence(seq);
  return r?.logits as Float32Array;
}

/** The plan file's checksum (plan_store.cc): FNV-1a over 64 bits, from that file's offset basis. */
function fnv64(text: string): string {
  let h = 1469598103934665603n;
  for (const b of Buffer.from(text, "utf8")) h = ((h ^ BigInt(b)) * 1099511628211n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

const gear = (model: EngineModel, phase: string, bucket: number) => {
  const g = model.gearReport().gears.find((x) => x.phase === phase && x.bucket === bucket);
  if (!g) throw new Error(`no gear ${phase} ${bucket}`);
  return g;
};

describe("gears", () => {
  it("any length inside a warm bucket hits its gear; sizes are recorded", async () => {
    const model = await load({ prefill: [16, 64], decodeBatch: [1, 4], warm: "all" });
    try {
      expect(gear(model, "prefill", 16).state).toBe("ready");
      await prefill(model, 10);
      await prefill(model, 13); // a new length, same bucket
      await prefill(model, 40);
      const g16 = gear(model, "prefill", 16);
      expect(g16.hits).toBe(2);
      expect(g16.misses).toBe(0);
      expect(g16.realTokens).toBe(23);
      expect(g16.paddedTokens).toBe(0);
      expect(gear(model, "prefill", 64).hits).toBe(1);
      const r = model.gearReport();
      expect(r.fallbacks).toBe(0);
      expect(r.observed.prefill[10]).toBe(1);
      expect(r.observed.prefill[13]).toBe(1);
      expect(g16.compileMs).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  it("a miss never blocks: the step runs on the generic plan while the gear builds", async () => {
    const model = await load({ prefill: [16, 64], decodeBatch: [1], warm: "none" });
    try {
      expect(gear(model, "prefill", 64).state).toBe("cold");
      const first = await prefill(model, 30);
      const after = gear(model, "prefill", 64);
      expect(after.misses).toBe(1);
      expect(model.gearReport().fallbacks).toBe(1);
      for (let i = 0; i < 200 && gear(model, "prefill", 64).state !== "ready"; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(gear(model, "prefill", 64).state).toBe("ready");
      const second = await prefill(model, 30);
      expect(gear(model, "prefill", 64).hits).toBe(1);
      // The generic plan and the gear compute the same thing.
      expect(Array.from(second)).toEqual(Array.from(first));
    } finally {
      await model.close();
    }
  });

  it("the plan LRU is bounded by bytes", async () => {
    const probe = await load({ prefill: [16, 32, 64], decodeBatch: [1], warm: "all" });
    const sizes = probe.gearReport().gears.map((g) => g.residentBytes);
    await probe.close();
    const limit = Math.max(...sizes) + 1;
    const model = await load({
      prefill: [16, 32, 64],
      decodeBatch: [1],
      warm: "all",
      maxResidentBytes: limit,
    });
    try {
      const r = model.gearReport();
      const resident = r.gears.reduce((a, g) => a + g.residentBytes, 0);
      expect(resident).toBeLessThanOrEqual(limit);
      expect(r.gears.some((g) => g.state === "evicted" && g.evictions > 0)).toBe(true);
      // An evicted gear still serves: a miss, then it is rebuilt in the background.
      const evicted = r.gears.find((g) => g.state === "evicted");
      if (!evicted) throw new Error("nothing evicted");
      await prefill(model, evicted.phase === "prefill" ? evicted.bucket : 1);
      expect(model.gearReport().fallbacks).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  it("persists tuned plans; a warm restart reuses them; a corrupted file is rebuilt and reported", async () => {
    const cacheDir = join(dir, "plans");
    const opts: GearOptions = { prefill: [16, 64], decodeBatch: [1, 4], warm: "all", cacheDir };
    const cold = await load(opts);
    expect(cold.gearReport().cacheStatus).toMatch(/cold/);
    await cold.close();
    const [file] = (await readdir(cacheDir)).filter((f) => f.endsWith(".gears"));
    if (!file) throw new Error("no plan file written");
    const warm = await load(opts);
    expect(warm.gearReport().cacheStatus).toMatch(/^warm/);
    expect(warm.gearReport().gears.every((g) => g.autotuneMs === 0)).toBe(true);
    await warm.close();
    const text = await readFile(join(cacheDir, file), "utf8");
    await writeFile(join(cacheDir, file), text.replace("tile ", "tile x"));
    const rebuilt = await load(opts);
    try {
      expect(rebuilt.gearReport().cacheStatus).toMatch(/rebuilt: checksum mismatch/);
      expect((await prefill(rebuilt, 20)).length).toBeGreaterThan(0);
    } finally {
      await rebuilt.close();
    }
    const again = await load(opts);
    expect(again.gearReport().cacheStatus).toMatch(/^warm/);
    await again.close();
  });

  it("drops a persisted tile this build no longer offers (an older build's decode tile) and chooses again", async () => {
    const cacheDir = join(dir, "plans-stale");
    const opts: GearOptions = { prefill: [16], decodeBatch: [1], warm: "all", cacheDir };
    await (await load(opts)).close();
    const [file] = (await readdir(cacheDir)).filter((f) => f.endsWith(".gears"));
    if (!file) throw new Error("no plan file written");
    const decodeLines = (text: string) => text.split("\n").filter((l) => /^tile \S+ \d+ \d+ 1 /.test(l));
    const fresh = await readFile(join(cacheDir, file), "utf8");
    expect(decodeLines(fresh).length).toBeGreaterThan(0);
    expect(decodeLines(fresh).every((l) => l.endsWith(" 1 1"))).toBe(true);
    // Rewrite it as a build that chose 1 x 2 for decode would have, with a valid checksum.
    const body = fresh
      .slice(0, fresh.lastIndexOf("checksum "))
      .split("\n")
      .map((l) => (/^tile \S+ \d+ \d+ 1 /.test(l) ? l.replace(/ 1 1$/, " 1 2") : l))
      .join("\n");
    await writeFile(join(cacheDir, file), `${body}checksum ${fnv64(body)}\n`);
    const stale = await load(opts);
    try {
      expect(stale.gearReport().cacheStatus).toMatch(/^warm/); // the file itself is valid
      expect((await prefill(stale, 8)).length).toBeGreaterThan(0);
    } finally {
      await stale.close();
    }
    const after = await readFile(join(cacheDir, file), "utf8");
    expect(decodeLines(after)).toEqual(decodeLines(fresh));
  });

  it("tunes every layer's own matrices: a Q4_K_M file's q4_K and q6_K layers each get a tile", async () => {
    // Q4_K_M keeps attn_v and ffn_down of some layers in q6_K; the persisted tile choices (keyed by
    // storage format and shape) must cover both formats of the down projection, not layer 0's only.
    const cacheDir = join(dir, "plans-q4km");
    const model = await nativeEngine.loadModel(await ensureModel("tiny", "q4_k_m"), {
      threads: 2,
      contextLength: 256,
      kvCacheMiB: 16,
      gears: { prefill: [16], decodeBatch: [1], warm: "all", cacheDir },
    });
    const { embeddingLength: d, feedForwardLength: ff } = model.info;
    await model.close();
    const [file] = (await readdir(cacheDir)).filter((f) => f.endsWith(".gears"));
    if (!file) throw new Error("no plan file written");
    const text = await readFile(join(cacheDir, file), "utf8");
    const downFormats = new Set(
      text
        .split("\n")
        .map((line) => line.split(" "))
        .filter((f) => f[0] === "tile" && f[2] === String(d) && f[3] === String(ff) && f[4] === "16")
        .map((f) => f[1]),
    );
    expect([...downFormats].sort()).toEqual(["q4_Kx16", "q6_Kx16"]);
  });

  it("padded mode computes whole buckets and counts the padding; results are unchanged", async () => {
    const exact = await load({ prefill: [64], decodeBatch: [1], warm: "all" });
    const a = await prefill(exact, 20);
    await exact.close();
    const padded = await load({ prefill: [64], decodeBatch: [1], warm: "all", padded: true });
    try {
      const b = await prefill(padded, 20);
      expect(gear(padded, "prefill", 64).paddedTokens).toBe(44);
      expect(Array.from(b)).toEqual(Array.from(a));
    } finally {
      await padded.close();
    }
  });
});
