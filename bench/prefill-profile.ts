/**
 * Where a prefill's time goes: wall time per forward stage (GEARBOX_PROFILE=1) for one prompt at
 * each length, in ms and as a share, with tok/s. For choosing what to optimize; the figures are
 * timings only. The kernel set is this CPU's best unless GEARBOX_ISA forces one.
 *
 *   GEARBOX_ISA=avx2 node bench/run-ts.mjs bench/prefill-profile.ts --model .cache/bench/1b-q8_0.gguf \
 *     [--prompt-lengths 64,512,2048] [--threads 2]
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
  const after = model.profile().stageMs;
  const stages = Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const);
  const total = stages.reduce((a, [, v]) => a + v, 0);
  process.stdout.write(`prefill ${P}: ${ms.toFixed(0)} ms, ${((P / ms) * 1000).toFixed(1)} tok/s\n`);
  for (const [k, v] of stages.sort((a, b) => b[1] - a[1]))
    process.stdout.write(
      `  ${k.padEnd(10)} ${v.toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%\n`,
    );
}
await model.close();
