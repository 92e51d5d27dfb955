/**
 * Where a prefill's time goes: wall time per forward stage (GEARBOX_PROFILE=1) for one prompt at
 * each length, in ms and as a share, with tok/s. For choosing what to optimize; the figures are
 * timings only. The kernel set is this CPU's best unless GEARBOX_ISA forces one. With --decode N,
 * also N decode steps of one sequence after a short prompt, with the same split per step.
 *
 *   GEARBOX_ISA=avx2 node bench/run-ts.mjs bench/prefill-profile.ts --model .cache/bench/1b-q8_0.gguf \
 *     [--prompt-lengths 64,512,2048] [--threads 2] [--decode 32]
 */
import { parseArgs } from "node:util";

process.env.GEARBOX_PROFILE = "1";
const { defaultSampling } = await import("@gearbox/npu-backend/engine/engine");
const { nativeEngine } = await import("@gearbox/npu-backend/engine/native-engine");

const { values: o } = parseArgs({
  options: {
    model: { type: "string" },
    "prompt-lengths": { type: "string", default: "64,512" },
    threads: { type: "string", default: "2" },
    decode: { type: "string", default: "0" },
  },
});
if (!o.model) throw new Error("--model FILE is required");
const lengths = (o["prompt-lengths"] as string).split(",").map(Number);
const maxLen = Math.max(...lengths);
const model = await nativeEngine.loadModel(o.model, {
  threads: Number(o.threads),
  contextLength: Math.max(1024, maxLen + 16),
  kvCacheMiB: 2048,
  gears: { prefill: [...new Set([64, 128, 256, 512, Math.min(512, maxLen)])], decodeBatch: [1], warm: "all" },
});
process.stdout.write(`${o.model} (${model.device.isa}, ${model.device.threads} threads)\n`);
let salt = 0;
for (const P of lengths) {
  const before = model.profile().stageMs;
  const tokens = Array.from({ length: P }, (_, i) => 1000 + ((i * 7919 + ++salt * 104729) % 100000));
  const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
  const t = performance.now();
  await model.step([{ seq, tokens, sample: true }]);
  const ms = performance.now() - t;
  await model.freeSequence(seq);
  printStages(`prefill ${P}: ${ms.toFixed(0)} ms, ${((P / ms) * 1000).toFixed(1)} tok/s`, before, 1);
}
const steps = Number(o.decode);
if (steps > 0) {
  const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
  await model.step([{ seq, tokens: [1000, 2000, 3000, 4000], sample: true }]);
  const before = model.profile().stageMs;
  const t = performance.now();
  for (let i = 0; i < steps; i++) await model.step([{ seq, tokens: [1000 + i], sample: true }]);
  const ms = performance.now() - t;
  await model.freeSequence(seq);
  printStages(
    `decode ${steps} steps: ${(ms / steps).toFixed(2)} ms/step, ${((steps / ms) * 1000).toFixed(1)} tok/s`,
    before,
    steps,
  );
}

/** One line of totals, then each stage's time (per step when `per` > 1) and share since `before`. */
function printStages(title: string, before: Record<string, number>, per: number): void {
  const after = model.profile().stageMs;
  const stages = Object.keys(after).map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) / per] as const);
  const total = stages.reduce((a, [, v]) => a + v, 0);
  process.stdout.write(`${title}\n`);
  for (const [k, v] of [...stages].sort((a, b) => b[1] - a[1]))
    process.stdout.write(
      `  ${k.padEnd(10)} ${v.toFixed(per > 1 ? 3 : 1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%\n`,
    );
}
await model.close();
