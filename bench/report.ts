/**
 * The two-model report (issue 13): Llama 3.2 1B English vs 3B Chinese behind one `gearbox serve`
 * with `model: "auto"`, side by side with the published Ascend 910 figures; dynamic vs static
 * shapes on the 1B model; the `auto` router's accuracy on a labelled set. Writes a Markdown report
 * and PNG charts.
 *
 *   npm run report                      # synthetic 1b and 3b models (made under .cache/bench if missing)
 *   npm run report -- --quick           # tiny models, few requests: a smoke run (seconds)
 *   npm run report -- --config gearbox.config.json   # the real GGUF files of a config ("en" and "zh" models)
 *
 * Options: --out DIR (report.md, report.json and, without --write, the charts; default
 * .cache/report), --write FILE (replace the report block of e.g. docs/BENCHMARKS.md; the charts go
 * into FILE's folder as report-*.png), --threads N (default 0 =
 * all cores), --repeats R, --answer-tokens N, --concurrency C, --throughput-requests N,
 * --shape-requests N; --from FILE re-renders a saved report.json without measuring.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { makeModel } from "@gearbox/gguf/model-maker/make-model";
import { summarizeModel } from "@gearbox/gguf/model-summary";
import { readGguf } from "@gearbox/gguf/reader";
import { configSchema } from "@gearbox/npu-backend/config/config-schema";
import { loadTokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import type { ModelMemory } from "./report/markdown.js";
import { type MeasuredReport, renderCharts, renderMarkdown, replaceBlock } from "./report/render.js";
import { evaluateRouting } from "./report/routing.js";
import { type ServedPair, startServer } from "./report/server.js";
import { measureServing, type ServingResult } from "./report/serving.js";
import { LADDER, measureShapes, workload } from "./report/shapes.js";

const { values: o } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    config: { type: "string" },
    out: { type: "string" },
    write: { type: "string" },
    threads: { type: "string", default: "0" },
    repeats: { type: "string" },
    "answer-tokens": { type: "string" },
    concurrency: { type: "string" },
    "throughput-requests": { type: "string" },
    "shape-requests": { type: "string" },
    from: { type: "string" },
  },
});
const quick = o.quick === true;
const num = (v: string | undefined, quickDefault: number, fullDefault: number) =>
  v !== undefined ? Number(v) : quick ? quickDefault : fullDefault;
const settings = {
  lengths: [16, 64, 256],
  repeats: num(o.repeats, 1, 3),
  answerTokens: num(o["answer-tokens"], 4, 32),
  concurrency: num(o.concurrency, 2, 4),
  throughputRequests: num(o["throughput-requests"], 2, 8),
  shapeRequests: num(o["shape-requests"], 9, 60),
  threads: Number(o.threads),
};
const log = (s: string) => process.stderr.write(`${s}\n`);
const started = performance.now();

/** The two models: a config's "en" and "zh" entries, or the synthetic ones (made when missing). */
async function models(): Promise<{ pair: ServedPair; synthetic: boolean }> {
  if (o.config) {
    // Only the models are needed: the file's auth (secrets from the environment) is not resolved.
    const parsed = configSchema.safeParse(JSON.parse(readFileSync(o.config, "utf8")));
    if (!parsed.success) throw new Error(`${o.config}: ${parsed.error.message}`);
    const base = dirname(resolve(o.config));
    const models = parsed.data.models.map((m) => ({ ...m, path: resolve(base, m.path) }));
    const pick = (lang: string) => models.find((m) => m.languages.includes(lang));
    const en = pick("en");
    const zh = pick("zh");
    if (!en || !zh) throw new Error(`${o.config}: needs one model with languages ["en"] and one with ["zh"]`);
    return { pair: { en: { id: en.id, path: en.path }, zh: { id: zh.id, path: zh.path } }, synthetic: false };
  }
  const files = quick
    ? { en: [".cache/report/tiny-en.gguf", "tiny"], zh: [".cache/report/tiny-alt-zh.gguf", "tiny-alt"] }
    : { en: [".cache/bench/1b-q8_0.gguf", "1b"], zh: [".cache/bench/3b-q8_0.gguf", "3b"] };
  for (const [path, shape] of Object.values(files) as [string, "tiny" | "tiny-alt" | "1b" | "3b"][]) {
    if (!existsSync(path)) {
      log(`making the synthetic ${shape} model at ${path}`);
      mkdirSync(dirname(path), { recursive: true });
      await makeModel({ shape, type: "q8_0", out: path });
    }
  }
  const id = (role: "en" | "zh") =>
    quick ? `tiny-${role}` : role === "en" ? "llama-3.2-1b-en" : "llama-3.2-3b-zh";
  return {
    pair: {
      en: { id: id("en"), path: files.en[0] as string },
      zh: { id: id("zh"), path: files.zh[0] as string },
    },
    synthetic: true,
  };
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpu}, ${cpus().length} cores, Node ${process.version}`;
}

async function measure(): Promise<MeasuredReport> {
  const { pair, synthetic } = await models();
  const loadStart = loadavg()[0] as number;
  log(`models: ${pair.en.id} (${pair.en.path}), ${pair.zh.id} (${pair.zh.path}); ${machine()}`);

  // ---- 1. the two models behind one server
  log("serving: starting gearbox serve with both models (auto routing)");
  const server = await startServer(pair, {
    threads: settings.threads,
    contextLength: 2048,
    kvCacheMiB: quick ? 64 : 512,
    prefill: LADDER,
    decodeBatch: [1, 2, 4, 8, 16],
  });
  let serving: ServingResult;
  let isa = "";
  try {
    const gears = (await (await fetch(`${server.url}/v1/gears`)).json()) as { data: { isa: string }[] };
    isa = gears.data[0]?.isa ?? "";
    serving = await measureServing(
      server,
      loadTokenizer(pair.en.path),
      { en: pair.en.id, zh: pair.zh.id },
      settings,
      log,
    );
  } finally {
    await server.stop();
  }
  const misrouted = serving.rows.flatMap((r) => r.misrouted.map((m) => `${r.role} prompt, ${m}`));
  if (misrouted.length > 0)
    throw new Error(`auto routing sent prompts to the wrong model:\n${misrouted.join("\n")}`);

  const memory: ModelMemory[] = (["en", "zh"] as const).map((role) => {
    const summary = summarizeModel(readGguf(pair[role].path), { contextLength: 2048 });
    const perToken = summary.memory.kvCacheBytes / summary.memory.contextLength;
    const peak = serving.memory.models[pair[role].id];
    return {
      role,
      weightsBytes: summary.memory.weightsBytes,
      kvPeakBytes: (peak?.kvBlocksPeak ?? 0) * (peak?.blockSize ?? 0) * perToken,
      gearArenaBytes: peak?.gearArenaBytes ?? 0,
    };
  });

  // ---- 2. dynamic vs static shapes on the English model
  log("shapes: gears (real rows) vs padded buckets vs an exact plan per request");
  const items = workload(loadTokenizer(pair.en.path), settings.shapeRequests);
  const shapes = await measureShapes(pair.en.path, items, settings.threads, log);

  // ---- 3. routing quality
  log("routing: the labelled set");
  const routing = evaluateRouting(undefined, quick ? 20 : 200);
  return {
    date: new Date().toISOString().slice(0, 10),
    args: process.argv.slice(2).join(" "),
    machine: machine(),
    isa,
    loadAverage: { start: loadStart, end: loadavg()[0] as number },
    seconds: (performance.now() - started) / 1000,
    quick,
    synthetic,
    settings,
    pair,
    serving,
    memory,
    shapes,
    routing,
  };
}

async function main() {
  const report = o.from ? (JSON.parse(readFileSync(o.from, "utf8")) as MeasuredReport) : await measure();
  // The raw report and its JSON go to --out; the charts beside the document written (docs/), or to --out.
  const dataDir = resolve(o.out ?? ".cache/report");
  const chartDir = o.write ? resolve(dirname(o.write)) : dataDir;
  const prefix = o.write ? "report-" : "";
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(chartDir, { recursive: true });
  if (!o.from) writeFileSync(join(dataDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  const charts = await renderCharts(report);
  writeFileSync(join(chartDir, `${prefix}latency.png`), charts.latency);
  writeFileSync(join(chartDir, `${prefix}memory.png`), charts.memory);
  const md = renderMarkdown(report, { latency: `${prefix}latency.png`, memory: `${prefix}memory.png` });
  writeFileSync(join(dataDir, "report.md"), `${md}\n`);
  if (o.write) writeFileSync(o.write, replaceBlock(readFileSync(o.write, "utf8"), md, o.write));
  process.stdout.write(`${md}\n`);
  log(
    `report written to ${join(dataDir, "report.md")}${o.write ? ` and ${o.write}` : ""} (${report.seconds.toFixed(0)} s)`,
  );
}

await main();
