import { readFileSync } from "node:fs";
const { defaultSampling } = await import("@gearbox/npu-backend/engine/engine");
const { nativeEngine } = await import("@gearbox/npu-backend/engine/native-engine");
const model = await nativeEngine.loadModel(".cache/bench/1b-q8_0.gguf", { threads: 2, contextLength: 1024, kvCacheMiB: 512, gears: { prefill: [64], decodeBatch: [1], warm: "all", cacheDir: "/tmp/gbplans" } });
console.log(readFileSync("/proc/self/smaps_rollup", "utf8"));
const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
await model.step([{ seq, tokens: [1000, 2000, 3000, 4000], sample: true }]);
for (let r = 0; r < 3; r++) {
const t = performance.now();
for (let i = 0; i < 32; i++) await model.step([{ seq, tokens: [1000 + i], sample: true }]);
console.log("decode tok/s", (32 / (performance.now() - t) * 1000).toFixed(1));
}
