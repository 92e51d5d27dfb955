/**
 * `gearbox gears suggest`: proposes a bucket ladder from a server's observed step sizes
 * (GET /v1/gears of a running backend, or that JSON saved to a file).
 */
import { readFile } from "node:fs/promises";
import { ladderCost, suggestLadder } from "../gears/suggest.js";
import { integerOption, parseCommandArgs, runCommand, UsageError } from "./args.js";

const USAGE = `usage: gearbox gears suggest (--url URL | --file FILE) [--budget N] [--phase prefill|decode] [--json]

Reads the histogram of observed step sizes (GET /v1/gears of a running backend, or that JSON in a
file) and proposes the ladder of at most --budget gears (default 4) with the least padding a
static-graph device would compute. Shows the current ladder's padding and the gears it would drop.
`;

interface GearsJson {
  gears?: Array<{ phase: string; bucket: number }>;
  observed?: Record<string, Record<string, number>>;
  models?: Array<GearsJson & { model?: string }>;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === "--help" || sub === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (sub !== "suggest") throw new UsageError("expected the subcommand 'suggest'");
    const o = parseCommandArgs(rest, {
      url: { type: "string" },
      file: { type: "string" },
      budget: { type: "string" },
      phase: { type: "string" },
      json: { type: "boolean" },
    });
    if (o.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if ((o.url === undefined) === (o.file === undefined))
      throw new UsageError("give one of --url and --file");
    const budget = integerOption(o.budget, "budget", 1, 1000) ?? 4;
    const phase = o.phase ?? "prefill";
    if (phase !== "prefill" && phase !== "decode") throw new UsageError("--phase must be prefill or decode");
    let data: GearsJson;
    if (o.url !== undefined) {
      const res = await fetch(o.url);
      if (!res.ok) throw new Error(`GET ${o.url}: HTTP ${res.status}`);
      data = (await res.json()) as GearsJson;
    } else {
      data = JSON.parse(await readFile(o.file as string, "utf8")) as GearsJson;
    }
    const reports = data.models ?? [data];
    const out = reports.map((r) => {
      const histogram = new Map(
        Object.entries(r.observed?.[phase] ?? {}).map(([k, v]) => [Number(k), Number(v)] as [number, number]),
      );
      const current = (r.gears ?? []).filter((g) => g.phase === phase).map((g) => g.bucket);
      const suggested = suggestLadder(histogram, budget);
      return {
        model: (r as { model?: string }).model ?? "",
        phase,
        budget,
        current: { ladder: current, ...ladderCost(histogram, current) },
        suggested: { ladder: suggested, ...ladderCost(histogram, suggested) },
        drop: current.filter((b) => !suggested.includes(b)),
      };
    });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(out.length === 1 ? out[0] : out)}\n`);
      return 0;
    }
    for (const r of out) {
      const pct = (c: { paddedTokens: number; realTokens: number }) =>
        c.realTokens ? `${((100 * c.paddedTokens) / c.realTokens).toFixed(1)}%` : "-";
      if (r.model) process.stdout.write(`${r.model}\n`);
      process.stdout.write(
        `  current   ${JSON.stringify(r.current.ladder)}: padding ${pct(r.current)} of real tokens` +
          (r.current.overflowSteps ? `, ${r.current.overflowSteps} steps above the largest gear` : "") +
          "\n",
      );
      process.stdout.write(
        `  suggested ${JSON.stringify(r.suggested.ladder)}: padding ${pct(r.suggested)}\n`,
      );
      if (r.drop.length) process.stdout.write(`  would drop ${JSON.stringify(r.drop)}\n`);
    }
    return 0;
  });
}
