/**
 * The attention kernel alone (testing.benchAttention): one thread running a prefill's attention the
 * way the forward pass does (for each KV head, each token t attends to its t + 1 keys with G query
 * heads), for every kernel set this CPU runs, at each prompt length. GFLOPS counts the q.k and p.V
 * products (4 * G * hd per key). For comparing attention changes and sets; timings only, medians of
 * --iters runs. Defaults are the 1b model's shape (G = 4, hd = 64, 8 KV heads).
 *
 *   node bench/run-ts.mjs bench/attention.ts [--tokens 256,1024,4096] [--group 4] [--head-dim 64] \
 *     [--kv-heads 8] [--iters 3] [--sets avx2,avx512]
 */
import { parseArgs } from "node:util";

const { nativeAddon } = await import("@gearbox/npu-backend/engine/native");

const { values: o } = parseArgs({
  options: {
    tokens: { type: "string", default: "256,1024,4096" },
    group: { type: "string", default: "4" },
    "head-dim": { type: "string", default: "64" },
    "kv-heads": { type: "string", default: "8" },
    iters: { type: "string", default: "3" },
    sets: { type: "string" },
  },
});
const testing = nativeAddon().testing as unknown as {
  kernelSets(): string[];
  benchAttention(
    set: string,
    g: number,
    t: number,
    hd: number,
    h: number,
    iters: number,
  ): { ms: number; gflops: number };
};
const sets = o.sets ? o.sets.split(",") : testing.kernelSets();
const lengths = (o.tokens as string).split(",").map(Number);
const [G, hd, H, iters] = [o.group, o["head-dim"], o["kv-heads"], o.iters].map(Number) as [
  number,
  number,
  number,
  number,
];
process.stdout.write(`attention, one thread: G = ${G}, hd = ${hd}, ${H} KV heads; GFLOPS (ms)\n`);
process.stdout.write(
  `| set | ${lengths.map((t) => `${t} tokens`).join(" | ")} |\n|---|${lengths.map(() => "---:").join("|")}|\n`,
);
for (const set of sets) {
  const cells = lengths.map((t) => {
    const r = testing.benchAttention(set, G, t, hd, H, iters);
    return `${r.gflops.toFixed(1)} (${r.ms.toFixed(0)})`;
  });
  process.stdout.write(`| ${set} | ${cells.join(" | ")} |\n`);
}
