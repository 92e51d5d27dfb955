/**
 * Turns a measured report (what `bench/report.ts` measures, also saved as report.json) into the
 * Markdown block and the two PNG charts. Kept apart from the measuring, so that
 * `npm run report -- --from report.json` can re-render a run without measuring again.
 */
import { basename } from "node:path";
import { barChartPng, lineChartPng } from "../lib/chart.js";
import { type ModelMemory, memoryTable, routingTable, servingTable, shapesTable } from "./markdown.js";
import { PUBLISHED } from "./published.js";
import type { RoutingResult } from "./routing.js";
import type { ServedPair } from "./server.js";
import type { ServingResult } from "./serving.js";
import type { ShapesResult } from "./shapes.js";

export interface ReportSettings {
  lengths: number[];
  repeats: number;
  answerTokens: number;
  concurrency: number;
  throughputRequests: number;
  shapeRequests: number;
  threads: number;
}

export interface MeasuredReport {
  date: string;
  /** The command's arguments after `npm run report --`. */
  args: string;
  machine: string;
  isa: string;
  loadAverage: { start: number; end: number };
  seconds: number;
  quick: boolean;
  synthetic: boolean;
  settings: ReportSettings;
  pair: ServedPair;
  serving: ServingResult;
  memory: ModelMemory[];
  shapes: ShapesResult;
  routing: RoutingResult;
}

export const BEGIN = "<!-- report:begin -->";
export const END = "<!-- report:end -->";

export async function renderCharts(r: MeasuredReport): Promise<{ latency: Buffer; memory: Buffer }> {
  const { lengths, answerTokens } = r.settings;
  const row = (role: "en" | "zh") => r.serving.rows.find((x) => x.role === role);
  const series = (role: "en" | "zh", field: "ttftMs" | "e2eMs") =>
    lengths.map((n): [number, number] => [n, row(role)?.byLength[n]?.[field] ?? Number.NaN]);
  const latency = await lineChartPng({
    title: "Latency vs prompt length",
    xLabel: "prompt tokens",
    yLabel: "ms (log scale)",
    xLog: true,
    yLog: true,
    series: [
      { name: "1B English, TTFT (here)", points: series("en", "ttftMs") },
      { name: "3B Chinese, TTFT (here)", points: series("zh", "ttftMs") },
      { name: `1B English, e2e ${answerTokens} tokens (here)`, points: series("en", "e2eMs") },
      { name: `3B Chinese, e2e ${answerTokens} tokens (here)`, points: series("zh", "e2eMs") },
      {
        name: "1B English, Ascend 910 (published)",
        points: lengths
          .filter((n) => PUBLISHED.latencyMs[n])
          .map((n) => [n, PUBLISHED.latencyMs[n]?.en ?? 0]),
      },
      {
        name: "3B Chinese, Ascend 910 (published)",
        points: lengths
          .filter((n) => PUBLISHED.latencyMs[n])
          .map((n) => [n, PUBLISHED.latencyMs[n]?.zh ?? 0]),
      },
    ],
  });
  const memory = await barChartPng({
    title: "Peak memory per model",
    yLabel: "GB",
    bars: r.memory.flatMap((m) => {
      const group = m.role === "en" ? "1B English" : "3B Chinese";
      return [
        { group, label: "weights (here)", value: m.weightsBytes / 1e9 },
        { group, label: "KV peak (here)", value: m.kvPeakBytes / 1e9 },
        { group, label: "gear arenas (here)", value: m.gearArenaBytes / 1e9 },
        { group, label: "total, Ascend 910 (published)", value: PUBLISHED.memoryGB[m.role] },
      ];
    }),
  });
  return { latency, memory };
}

/** The Markdown block, charts linked as `charts.latency` and `charts.memory`. */
export function renderMarkdown(r: MeasuredReport, charts: { latency: string; memory: string }): string {
  const { pair, settings } = r;
  const models = r.synthetic
    ? r.quick
      ? ", tiny synthetic models (a smoke run: not the Llama 3.2 shapes)"
      : ", synthetic (`gearbox make-model`: the exact Llama 3.2 1B and 3B shapes, q8_0, random weights)"
    : "";
  const misses = r.routing.misses;
  return [
    BEGIN,
    `_Measured ${r.date} with \`npm run report${r.args ? ` -- ${r.args}` : ""}\` in ${(r.seconds / 60).toFixed(1)} min; ${r.machine}, kernels ${r.isa}, engine threads ${settings.threads || "all"}; load average ${r.loadAverage.start.toFixed(1)} at the start, ${r.loadAverage.end.toFixed(1)} at the end._`,
    "",
    `Models: ${pair.en.id} (\`${basename(pair.en.path)}\`) and ${pair.zh.id} (\`${basename(pair.zh.path)}\`)${models}; one \`gearbox serve\`, \`model: "auto"\` for every request (each answer's \`x-gearbox-model\` checked: English on the 1B, Chinese on the 3B). Medians of ${settings.repeats} request(s) per cell, the two models in turns; streamed \`/v1/completions\` with token-id prompts of exactly that length and exactly ${settings.answerTokens} answer tokens; requests/s from ${settings.throughputRequests} requests per model.`,
    "",
    servingTable(r.serving.rows, r.memory, settings.answerTokens, settings.concurrency, settings.lengths),
    "",
    `![latency vs prompt length](${charts.latency})`,
    "",
    memoryTable(
      r.memory,
      { en: pair.en.id, zh: pair.zh.id },
      r.serving.memory.processPeakBytes,
      r.serving.rssAfterLoadBytes,
    ),
    "",
    `![peak memory](${charts.memory})`,
    "",
    "### Dynamic vs static shapes (measured)",
    "",
    shapesTable(r.shapes),
    "",
    "### Routing (measured)",
    "",
    routingTable(r.routing),
    "",
    misses.length > 0
      ? `Routed wrong (${misses.length}): ${misses
          .map((m) => `${m.group} \`${(m.text.split("\n")[0] ?? "").slice(0, 36)}…\` → ${m.got}`)
          .join("; ")}.`
      : "No item routed wrong.",
    END,
  ].join("\n");
}

/** `doc` with its report block replaced by `md`. */
export function replaceBlock(doc: string, md: string, name: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${name}: no ${BEGIN} ... ${END} block`);
  return doc.slice(0, begin) + md + doc.slice(end + END.length);
}
