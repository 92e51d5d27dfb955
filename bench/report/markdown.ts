/** The report's Markdown: the table in the issue's form beside the published figures, and the rest. */
import { PUBLISHED } from "./published.js";
import type { RoutingResult } from "./routing.js";
import type { ModelRow } from "./serving.js";
import type { ShapesResult } from "./shapes.js";

export interface ModelMemory {
  role: "en" | "zh";
  weightsBytes: number;
  kvPeakBytes: number;
  gearArenaBytes: number;
}

export function table(head: string[], rows: (string | number)[][], align: ("l" | "r")[] = []): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (align[i] === "r" ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === "r" ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(head), rule, ...cells.slice(1).map(line)].join("\n");
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "–");
const gb = (b: number) => (b / 1e9).toFixed(2);

export function servingTable(
  rows: ModelRow[],
  memory: ModelMemory[],
  answerTokens: number,
  concurrency: number,
  lengths: number[],
): string {
  const en = rows.find((r) => r.role === "en") as ModelRow;
  const zh = rows.find((r) => r.role === "zh") as ModelRow;
  const memOf = (role: "en" | "zh") => {
    const m = memory.find((x) => x.role === role) as ModelMemory;
    return m.weightsBytes + m.kvPeakBytes + m.gearArenaBytes;
  };
  const body: (string | number)[][] = lengths.map((n) => [
    n,
    `${ms(en.byLength[n]?.ttftMs ?? Number.NaN)} / ${ms(en.byLength[n]?.e2eMs ?? Number.NaN)}`,
    `${ms(zh.byLength[n]?.ttftMs ?? Number.NaN)} / ${ms(zh.byLength[n]?.e2eMs ?? Number.NaN)}`,
    PUBLISHED.latencyMs[n] ? `${PUBLISHED.latencyMs[n].en} ms` : "–",
    PUBLISHED.latencyMs[n] ? `${PUBLISHED.latencyMs[n].zh} ms` : "–",
  ]);
  body.push([
    "peak memory (weights + KV + gear arenas)",
    `${gb(memOf("en"))} GB`,
    `${gb(memOf("zh"))} GB`,
    `≈ ${PUBLISHED.memoryGB.en} GB`,
    `≈ ${PUBLISHED.memoryGB.zh} GB`,
  ]);
  const longest = Math.max(...lengths);
  body.push([
    `requests/s at ${longest} tokens (${concurrency} in flight, ${answerTokens}-token answers)`,
    en.requestsPerS.toFixed(2),
    zh.requestsPerS.toFixed(2),
    PUBLISHED.requestsPerS.en,
    PUBLISHED.requestsPerS.zh,
  ]);
  return table(
    [
      "prompt tokens",
      `1B English, here: TTFT / e2e ${answerTokens} tokens (ms)`,
      `3B Chinese, here: TTFT / e2e ${answerTokens} tokens (ms)`,
      `1B English, ${PUBLISHED.label}`,
      `3B Chinese, ${PUBLISHED.label}`,
    ],
    body,
    ["l", "r", "r", "r", "r"],
  );
}

export function memoryTable(
  memory: ModelMemory[],
  ids: { en: string; zh: string },
  processPeakBytes: number,
  rssAfterLoad: number,
): string {
  const rows = memory.map((m) => [
    m.role === "en" ? `1B English (${ids.en})` : `3B Chinese (${ids.zh})`,
    gb(m.weightsBytes),
    gb(m.kvPeakBytes),
    gb(m.gearArenaBytes),
    gb(m.weightsBytes + m.kvPeakBytes + m.gearArenaBytes),
  ]);
  return `${table(["model", "weights GB", "KV peak GB", "gear arenas GB", "total GB"], rows, ["l", "r", "r", "r", "r"])}\n\nThe server process (both models, Node, tokenizers): RSS ${gb(rssAfterLoad)} GB after load, peak (VmHWM) ${gb(processPeakBytes)} GB.`;
}

export function shapesTable(s: ShapesResult): string {
  const base = s.modes[0];
  const rows = s.modes.map((m) => [
    m.mode,
    m.meanMs.toFixed(1),
    m.p99Ms.toFixed(1),
    base ? `${((m.meanMs / base.meanMs - 1) * 100).toFixed(1)}%` : "",
    m.buildMeanMs ? m.buildMeanMs.toFixed(1) : "0",
    `${(m.wastedShare * 100).toFixed(1)}%`,
    m.wastedGflop.toFixed(0),
    m.fallbacks,
  ]);
  return `${s.requests} requests, prompts of ${s.meanPromptTokens.toFixed(0)} tokens on average (p99 ${s.p99PromptTokens.toFixed(0)}), ${s.distinctShapes} distinct step shapes; ${s.gflopPerToken.toFixed(2)} GFLOP of matmuls per token.\n\n${table(
    [
      "mode",
      "mean ms",
      "p99 ms",
      "mean vs gears",
      "plan build on the path, mean ms",
      "padding share of computed rows",
      "wasted GFLOP (all requests)",
      "generic-plan fallbacks",
    ],
    rows,
    ["l", "r", "r", "r", "r", "r", "r", "r"],
  )}`;
}

export function routingTable(r: RoutingResult): string {
  const rows = Object.entries(r.byGroup).map(([g, v]) => [
    g,
    v.items,
    v.correct,
    `${((100 * v.correct) / v.items).toFixed(1)}%`,
  ]);
  rows.push(["all", r.items, r.correct, `${(100 * r.accuracy).toFixed(1)}%`]);
  return `${table(["group", "items", "routed right", "accuracy"], rows, ["l", "r", "r", "r"])}\n\nCost: ${r.usPerRequest.toFixed(1)} µs per routing decision (mean over the set, ${r.meanChars.toFixed(0)} characters per item on average).`;
}
