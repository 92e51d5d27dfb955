/**
 * The prefill chart of docs/BENCHMARKS.md: prefill tok/s against prompt length for gearbox and
 * llama.cpp, one pair of lines per `bench/engine.ts --json` file (one file per instruction set).
 *
 *   node bench/run-ts.mjs bench/engine-chart.ts --shape 1b --out docs/prefill-vs-length.png \
 *     avx2=.cache/bench/engine-avx2.json avx512=.cache/bench/engine-avx512.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { lineChartPng, type Series } from "./lib/chart.js";
import { median } from "./lib/stats.js";

interface Row {
  prefill: Record<string, number>;
}
interface EngineJson {
  machine: string;
  threads: number;
  models: Record<string, { gearbox: Row[]; llama: Row[] }>;
}

const { values: o, positionals } = parseArgs({
  options: { shape: { type: "string", default: "1b" }, out: { type: "string" } },
  allowPositionals: true,
});
if (!o.out || positionals.length === 0)
  throw new Error("usage: engine-chart.ts --out FILE.png LABEL=FILE.json ...");

const medianCurve = (rows: Row[]): Array<[number, number]> => {
  const lengths = Object.keys(rows[0]?.prefill ?? {}).map(Number);
  return lengths
    .sort((a, b) => a - b)
    .map((P) => [P, median(rows.map((r) => r.prefill[P]).filter((x): x is number => Number.isFinite(x)))]);
};

const series: Series[] = [];
let machine = "";
for (const arg of positionals) {
  const [label, file] = arg.includes("=") ? (arg.split("=", 2) as [string, string]) : [arg, arg];
  const j = JSON.parse(readFileSync(file, "utf8")) as EngineJson;
  machine = `${j.machine}, ${j.threads} threads`;
  const m = j.models[o.shape as string];
  if (!m) throw new Error(`${file} has no ${o.shape} model`);
  series.push({ name: `gearbox (${label})`, points: medianCurve(m.gearbox) });
  series.push({ name: `llama.cpp (${label})`, points: medianCurve(m.llama) });
}
const png = await lineChartPng({
  title: `Prefill speed against prompt length, ${o.shape} q8_0 (${machine})`,
  xLabel: "prompt tokens",
  yLabel: "prefill tok/s",
  series,
  xLog: true,
});
writeFileSync(o.out, png);
process.stdout.write(`wrote ${o.out}\n`);
