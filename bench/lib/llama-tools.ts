/**
 * llama.cpp's own benchmark tools from a build of `bash bench/build-llamacpp.sh --isa ...` (its
 * bin folder): one process per call. Shared by bench/engine.ts and bench/prefill-pairs.ts, so
 * both hold gearbox to the same llama.cpp measurements.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

function tool(dir: string, name: string, args: string[]): string {
  const r = spawnSync(join(dir, name), args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** `llama-bench` prefill tok/s at each prompt length (one repetition each, after its own warm-up). */
export function llamaBenchPrefill(dir: string, model: string, lengths: number[], threads: number) {
  const out = tool(dir, "llama-bench", [
    ...["-m", model, "-p", lengths.join(","), "-n", "0", "-r", "1", "-t", String(threads), "-o", "json"],
  ]);
  const rows = JSON.parse(out) as Array<{ n_prompt: number; avg_ts: number }>;
  return Object.fromEntries(rows.map((r) => [r.n_prompt, r.avg_ts])) as Record<number, number>;
}

/**
 * `llama-batched-bench` decode tok/s (the aggregate of all sequences) at each batch size: 16-token
 * prompts, then `gen` generated tokens per sequence, as gearbox's decode measurements.
 */
export function llamaBatchedDecode(
  dir: string,
  model: string,
  batches: number[],
  gen: number,
  threads: number,
) {
  const ctx = Math.max(...batches) * (16 + gen) + 64;
  const out = tool(dir, "llama-batched-bench", [
    ...["-m", model, "-c", String(ctx), "-b", "2048", "-ub", "512", "-npp", "16", "-ntg", String(gen)],
    ...["-npl", batches.join(","), "-t", String(threads), "--output-format", "jsonl"],
  ]);
  const decode: Record<number, number> = {};
  for (const line of out.split("\n").filter((l) => l.startsWith("{"))) {
    const r = JSON.parse(line) as { pl: number; speed_tg: number };
    decode[r.pl] = r.speed_tg;
  }
  return decode;
}
