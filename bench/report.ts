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
 * Options: --out DIR (charts and report.md; default .cache/report), --write FILE (replace the
 * report block of e.g. docs/BENCHMARKS.md, charts into FILE's folder), --threads N (default 0 =
 * all cores), --repeats R, --answer-tokens N, --concurrency C, --shape-requests N.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readConfigFile } from "../apps/npu-backend/src/config/load-config.js";
import { summarizeModel } from "../apps/npu-backend/src/gguf/model-summary.js";
import { readGguf } from "../apps/npu-backend/src/gguf/reader.js";
import { makeModel } from "../apps/npu-backend/src/model-maker/make-model.js";
import { loadTokenizer } from "../apps/npu-backend/src/tokenizer/tokenizer.js";
import { barChartPng, lineChartPng } from "./lib/chart.js";
import { type ModelMemory, memoryTable, routingTable, servingTable, shapesTable } from "./report/markdown.js";
import { PUBLISHED } from "./report/published.js";
import { evaluateRouting } from "./report/routing.js";
import { type ServedPair, startServer } from "./report/server.js";
import { measureServing } from "./report/serving.js";
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
    const config = await readConfigFile(o.config);
    const pick = (lang: string) => config.models.find((m) => m.languages.includes(lang));
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

async function main() {
  const { pair, synthetic } = await models();
  const outDir = resolve(o.write ? dirname(o.write) : (o.out ?? ".cache/report"));
  mkdirSync(outDir, { recursive: true });
  const chartPrefix = o.write ? "report-" : "";
  const load0 = loadavg()[0] as number;
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
  let serving: Awaited<ReturnType<typeof measureServing>>;
  let isa = "";
  try {
    isa =
      ((await (await fetch(`${server.url}/v1/gears`)).json()) as { data: { isa: string }[] }).data[0]?.isa ??
      "";
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
  const load1 = loadavg()[0] as number;

  // ---- charts
  const latency = await lineChartPng({
    title: "Latency vs prompt length (time to first token, solid; published, for reference)",
    xLabel: "prompt tokens",
    yLabel: "ms",
    xLog: true,
    series: [
      {
        name: `1B English TTFT (here)`,
        points: settings.lengths.map((n) => [n, serving.rows[0]?.byLength[n]?.ttftMs ?? 0]),
      },
      {
        name: `3B Chinese TTFT (here)`,
        points: settings.lengths.map((n) => [n, serving.rows[1]?.byLength[n]?.ttftMs ?? 0]),
      },
      {
        name: `1B e2e, ${settings.answerTokens} tokens (here)`,
        points: settings.lengths.map((n) => [n, serving.rows[0]?.byLength[n]?.e2eMs ?? 0]),
      },
      {
        name: `3B e2e, ${settings.answerTokens} tokens (here)`,
        points: settings.lengths.map((n) => [n, serving.rows[1]?.byLength[n]?.e2eMs ?? 0]),
      },
      {
        name: "1B, Ascend 910 (published)",
        points: settings.lengths.map((n) => [n, PUBLISHED.latencyMs[n]?.en ?? 0]),
      },
      {
        name: "3B, Ascend 910 (published)",
        points: settings.lengths.map((n) => [n, PUBLISHED.latencyMs[n]?.zh ?? 0]),
      },
    ],
  });
  const memoryPng = await barChartPng({
    title: "Peak memory per model",
    yLabel: "GB",
    bars: memory.flatMap((m) => {
      const group = m.role === "en" ? "1B English" : "3B Chinese";
      return [
        { group, label: "weights (here)", value: m.weightsBytes / 1e9 },
        { group, label: "KV peak (here)", value: m.kvPeakBytes / 1e9 },
        { group, label: "gear arenas (here)", value: m.gearArenaBytes / 1e9 },
        { group, label: "total, Ascend 910 (published)", value: PUBLISHED.memoryGB[m.role] },
      ];
    }),
  });
  const latencyFile = join(outDir, `${chartPrefix}latency.png`);
  const memoryFile = join(outDir, `${chartPrefix}memory.png`);
  writeFileSync(latencyFile, latency);
  writeFileSync(memoryFile, memoryPng);

  // ---- the report
  const link = (file: string) => relative(outDir, file);
  const args = process.argv.slice(2).join(" ");
  const seconds = (performance.now() - started) / 1000;
  const md = [
    "<!-- report:begin -->",
    `_Measured ${new Date().toISOString().slice(0, 10)} with \`npm run report${args ? ` -- ${args}` : ""}\` in ${(seconds / 60).toFixed(1)} min; ${machine()}, kernels ${isa}, engine threads ${settings.threads || "all"}; load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end._`,
    "",
    `Models: ${pair.en.id} (\`${basename(pair.en.path)}\`) and ${pair.zh.id} (\`${basename(pair.zh.path)}\`)${synthetic ? (quick ? ", tiny synthetic models (a smoke run: not the Llama 3.2 shapes)" : ", synthetic (`gearbox make-model`: the exact Llama 3.2 1B and 3B shapes, q8_0, random weights)") : ""}; one \`gearbox serve\`, \`model: "auto"\` for every request (each answer's \`x-gearbox-model\` checked: English on the 1B, Chinese on the 3B). Medians of ${settings.repeats} request(s) per cell, the two models in turns; streamed \`/v1/completions\` with token-id prompts of exactly that length and exactly ${settings.answerTokens} answer tokens.`,
    "",
    servingTable(serving.rows, memory, settings.answerTokens, settings.concurrency, settings.lengths),
    "",
    `![latency vs prompt length](${link(latencyFile)})`,
    "",
    memoryTable(
      memory,
      { en: pair.en.id, zh: pair.zh.id },
      serving.memory.processPeakBytes,
      serving.rssAfterLoadBytes,
    ),
    "",
    `![peak memory](${link(memoryFile)})`,
    "",
    "### Dynamic vs static shapes",
    "",
    shapesTable(shapes),
    "",
    "### Routing",
    "",
    routingTable(routing),
    "",
    routing.misses.length > 0
      ? `Routed wrong (${routing.misses.length}): ${routing.misses
          .slice(0, 20)
          .map((m) => `${m.group} \`${m.text.split("\n")[0]?.slice(0, 40)}…\` → ${m.got}`)
          .join("; ")}.`
      : "No item routed wrong.",
    "<!-- report:end -->",
  ].join("\n");
  writeFileSync(join(outDir, o.write ? "report.md" : "report.md"), `${md}\n`);
  writeFileSync(
    join(outDir, "report.json"),
    JSON.stringify({ settings, pair, serving, memory, shapes, routing: { ...routing }, seconds }, null, 2),
  );
  if (o.write) {
    const doc = readFileSync(o.write, "utf8");
    const begin = doc.indexOf("<!-- report:begin -->");
    const end = doc.indexOf("<!-- report:end -->");
    if (begin < 0 || end < 0)
      throw new Error(`${o.write}: no <!-- report:begin --> ... <!-- report:end --> block`);
    writeFileSync(o.write, doc.slice(0, begin) + md + doc.slice(end + "<!-- report:end -->".length));
  }
  process.stdout.write(`${md}\n`);
  log(`report written to ${join(outDir, "report.md")} (${seconds.toFixed(0)} s)`);
}

await main();
