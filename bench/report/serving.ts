/**
 * Part 1 of the report: the two models behind one `gearbox serve`, `model: "auto"`. For each
 * prompt length, English prompts (must land on the 1B model) and Chinese prompts (the 3B) take
 * turns, so a machine that slows down or speeds up during the run favours neither; then requests/s
 * at the longest length with C clients in flight, per model; memory peaks sampled throughout.
 */

import type { Tokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import { median } from "../lib/stats.js";
import { promptOf } from "./prompts.js";
import { memorySampler, processRss, type RunningServer, type Timed, timedRequest } from "./server.js";

export interface ServingOptions {
  lengths: number[];
  /** Answer tokens of every request (fixed: end-of-generation banned). */
  answerTokens: number;
  repeats: number;
  concurrency: number;
  /** Requests per model in the throughput run. */
  throughputRequests: number;
}

export interface ModelRow {
  role: "en" | "zh";
  id: string;
  /** prompt length -> medians */
  byLength: Record<number, { ttftMs: number; e2eMs: number; samples: number }>;
  requestsPerS: number;
  throughputWallS: number;
  /** Every request's x-gearbox-model was this model. */
  routedOk: boolean;
  misrouted: string[];
}

export interface ServingResult {
  rows: ModelRow[];
  memory: Awaited<ReturnType<ReturnType<typeof memorySampler>["stop"]>>;
  rssAfterLoadBytes: number;
}

export async function measureServing(
  server: RunningServer,
  tokenizer: Tokenizer,
  ids: { en: string; zh: string },
  o: ServingOptions,
  log: (s: string) => void,
): Promise<ServingResult> {
  const banned = Object.fromEntries([...tokenizer.eogIds].map((id) => [String(id), -100]));
  const roles = ["en", "zh"] as const;
  const samples: Record<string, Record<number, Timed[]>> = { en: {}, zh: {} };
  const misrouted: Record<string, string[]> = { en: [], zh: [] };
  let salt = 1;
  const check = (role: "en" | "zh", t: Timed, what: string) => {
    if (t.model !== ids[role]) misrouted[role]?.push(`${what}: answered by '${t.model}'`);
  };
  // Warm-up: one short request per model through the whole path (not counted).
  for (const role of roles)
    check(role, await timedRequest(server.url, promptOf(tokenizer, role, 16, salt++), 2, banned), "warm-up");
  const rssAfterLoadBytes = processRss(server.child.pid).now;
  const memory = memorySampler(server);
  for (let r = 0; r < o.repeats; r++) {
    for (const length of o.lengths) {
      // Alternate which model goes first in each round.
      for (const role of r % 2 === 0 ? roles : ([...roles].reverse() as ("en" | "zh")[])) {
        const t = await timedRequest(
          server.url,
          promptOf(tokenizer, role, length, salt++),
          o.answerTokens,
          banned,
        );
        check(role, t, `${length} tokens`);
        const cell = samples[role] as Record<number, Timed[]>;
        cell[length] = [...(cell[length] ?? []), t];
        log(
          `  ${role} ${length} tokens: TTFT ${t.ttftMs.toFixed(0)} ms, e2e ${t.e2eMs.toFixed(0)} ms (${t.model})`,
        );
      }
    }
  }
  const throughput: Record<string, { rps: number; wall: number }> = {};
  const longest = Math.max(...o.lengths);
  for (const role of roles) {
    const prompts = Array.from({ length: o.throughputRequests }, () =>
      promptOf(tokenizer, role, longest, salt++),
    );
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        for (;;) {
          const p = prompts[next++];
          if (!p) return;
          check(role, await timedRequest(server.url, p, o.answerTokens, banned), "throughput");
        }
      }),
    );
    const wall = (performance.now() - start) / 1000;
    throughput[role] = { rps: prompts.length / wall, wall };
    log(
      `  ${role} throughput: ${prompts.length} requests of ${longest} tokens, ${o.concurrency} in flight: ${(prompts.length / wall).toFixed(2)} req/s`,
    );
  }
  const peaks = await memory.stop();
  const rows = roles.map((role): ModelRow => {
    const byLength: ModelRow["byLength"] = {};
    for (const length of o.lengths) {
      const ts = (samples[role] as Record<number, Timed[]>)[length] ?? [];
      byLength[length] = {
        ttftMs: median(ts.map((t) => t.ttftMs)),
        e2eMs: median(ts.map((t) => t.e2eMs)),
        samples: ts.length,
      };
    }
    const bad = misrouted[role] ?? [];
    return {
      role,
      id: ids[role],
      byLength,
      requestsPerS: throughput[role]?.rps ?? 0,
      throughputWallS: throughput[role]?.wall ?? 0,
      routedOk: bad.length === 0,
      misrouted: bad,
    };
  });
  return { rows, memory: peaks, rssAfterLoadBytes };
}
