/**
 * Prefill (and one-sequence decode) of gearbox against llama.cpp, measurement by measurement: for
 * each round and each prompt length, one gearbox prefill and one llama-bench prefill of that length
 * back to back, seconds apart, in alternating order (A B, then B A). Each pair's ratio is taken
 * between two timings that saw the same minute of a shared host, so the ratios are much tighter
 * than bench/engine.ts's, whose two runs of a pair lie minutes apart (every length, every batch
 * size and a reload in between). Reported per length: the median pair ratio, its interquartile
 * range, and each engine's median tok/s. With --decode, one-sequence decode joins the rounds, and
 * the gearbox child probes the read bandwidth right after each of its decodes (bench/engine.ts's
 * probe: 2 GiB, 5 passes, the median pass), so each decode's share of its read-bandwidth floor (the
 * file's bytes once per token) is taken against the memory speed of that moment.
 *
 * gearbox runs in one child process for the whole run (loaded once, gears warmed at load, one
 * untimed prefill per length first); llama.cpp is its own `llama-bench` (and `llama-batched-bench`
 * for decode), one process per measurement, each with llama-bench's usual warm-up run, from a build
 * made by `bash bench/build-llamacpp.sh --isa ...`, so both engines use the same instruction set.
 *
 *   node bench/run-ts.mjs bench/prefill-pairs.ts --model .cache/bench/1b-q8_0.gguf \
 *     --llama-bin .cache/llama.cpp/build-avx2/bin --isa avx2 [--prompt-lengths 64,256,512] \
 *     [--rounds 10] [--decode] [--gen 32] [--threads 2] [--json FILE]
 *
 * Timings only; nothing here asserts a speed.
 */
import { spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { llamaBatchedDecode, llamaBenchPrefill } from "./lib/llama-tools.js";
import { median, percentile } from "./lib/stats.js";

const { values: o } = parseArgs({
  options: {
    model: { type: "string" },
    "llama-bin": { type: "string" },
    isa: { type: "string" },
    "prompt-lengths": { type: "string", default: "64,256,512" },
    rounds: { type: "string", default: "10" },
    decode: { type: "boolean", default: false },
    gen: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    json: { type: "string" },
    child: { type: "boolean", default: false },
  },
});

const threads = Number(o.threads);
const gen = Number(o.gen);
const lengths = (o["prompt-lengths"] as string).split(",").map(Number);

/** The gearbox side: reads "prefill P" / "decode B" lines, answers each with one JSON line. */
async function child() {
  const { openBench } = await import("@gearbox/npu-backend/cli/bench");
  const { nativeEngine } = await import("@gearbox/npu-backend/engine/native-engine");
  const { nativeAddon } = await import("@gearbox/npu-backend/engine/native");
  const session = await openBench(nativeEngine, o.model as string, {
    maxPrompt: Math.max(...lengths),
    maxBatch: 1,
    gen,
    threads,
  });
  for (const P of lengths) await session.prefill(P); // warm-up per length, as llama-bench's
  process.stdout.write(`${JSON.stringify({ ready: true, isa: session.isa, load_ms: session.loadMs })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [what, n] = line.trim().split(" ");
    if (what === "prefill") {
      const ms = await session.prefill(Number(n));
      process.stdout.write(`${JSON.stringify({ tok_s: (Number(n) / ms) * 1000 })}\n`);
    } else if (what === "decode") {
      const tok_s = await session.decode(Number(n), gen);
      const probe = nativeAddon().testing.memoryBandwidth(2048, threads, 5);
      process.stdout.write(`${JSON.stringify({ tok_s, probe_gbs: probe.median })}\n`);
    } else break;
  }
  await session.close();
}

/** One gearbox answer: tok/s, and after a decode the read bandwidth probed right after it (GB/s). */
interface Answer {
  tok_s: number;
  probe_gbs?: number;
}

/** A persistent gearbox child and a function that asks it one question. */
async function startGearbox(): Promise<{ ask(q: string): Promise<Answer>; isa: string; stop(): void }> {
  const env: NodeJS.ProcessEnv = { ...process.env, GEARBOX_PROFILE: "" };
  if (o.isa) env.GEARBOX_ISA = o.isa;
  const args = ["bench/run-ts.mjs", "bench/prefill-pairs.ts", "--child", "--model", o.model as string];
  args.push("--prompt-lengths", lengths.join(","), "--gen", String(gen), "--threads", String(threads));
  const p = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error("the gearbox child stopped");
    return JSON.parse(r.value) as Answer & { isa: string };
  };
  const ready = await next();
  return {
    isa: ready.isa,
    async ask(q) {
      p.stdin.write(`${q}\n`);
      return await next();
    },
    stop: () => p.stdin.end("quit\n"),
  };
}

function llama(what: string, n: number): number {
  const dir = o["llama-bin"] as string;
  const model = o.model as string;
  if (what === "prefill") return llamaBenchPrefill(dir, model, [n], threads)[n] as number;
  return llamaBatchedDecode(dir, model, [1], gen, threads)[1] as number;
}

async function main() {
  if (o.child) return child();
  if (!o.model || !o["llama-bin"]) throw new Error("--model and --llama-bin are required");
  const rounds = Number(o.rounds);
  const gb = await startGearbox();
  const tests: Array<[string, number]> = lengths.map((P) => ["prefill", P] as [string, number]);
  if (o.decode) tests.push(["decode", 1]);
  const key = ([w, n]: [string, number]) => `${w} ${n}`;
  type Samples = { gearbox: number[]; llama: number[]; ratio: number[]; floor: number[] };
  const samples: Record<string, Samples> = {};
  for (const t of tests) samples[key(t)] = { gearbox: [], llama: [], ratio: [], floor: [] };
  const fileBytes = statSync(o.model as string).size;
  for (let r = 0; r < rounds; r++) {
    for (const t of tests) {
      const s = samples[key(t)] as Samples;
      let a: Answer;
      let b: number;
      if (r % 2 === 0) {
        a = await gb.ask(key(t));
        b = llama(...t);
      } else {
        b = llama(...t);
        a = await gb.ask(key(t));
      }
      s.gearbox.push(a.tok_s);
      s.llama.push(b);
      s.ratio.push(a.tok_s / b);
      let floor = "";
      if (a.probe_gbs) {
        s.floor.push((a.tok_s * fileBytes) / (a.probe_gbs * 1e9));
        floor = `, ${(100 * (s.floor.at(-1) as number)).toFixed(0)}% of the floor at ${a.probe_gbs.toFixed(1)} GB/s`;
      }
      process.stderr.write(
        `round ${r + 1}/${rounds} ${key(t)}: ${a.tok_s.toFixed(1)} vs ${b.toFixed(1)} = ${(a.tok_s / b).toFixed(2)}x${floor}\n`,
      );
    }
  }
  gb.stop();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `${cpu}, ${threads} threads; gearbox ${gb.isa} against llama.cpp from \`${o["llama-bin"]}\`; ${rounds} rounds, each measurement paired with the other engine's seconds apart.`,
    "",
    "| test | gearbox tok/s | llama.cpp tok/s | median pair ratio | middle half of the ratios |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const t of tests) {
    const s = samples[key(t)] as Samples;
    lines.push(
      `| ${t[0] === "prefill" ? `prefill ${t[1]} tokens` : "decode, 1 sequence"} | ${median(s.gearbox).toFixed(1)} | ${median(s.llama).toFixed(1)} | ${median(s.ratio).toFixed(3)}x | ${percentile(s.ratio, 25).toFixed(2)}-${percentile(s.ratio, 75).toFixed(2)}x |`,
    );
  }
  const floor = samples["decode 1"]?.floor ?? [];
  if (floor.length) {
    const pct = (q: number) => (100 * percentile(floor, q)).toFixed(0);
    lines.push(
      "",
      `gearbox's one-sequence decode against its read-bandwidth floor (${(fileBytes / 1e9).toFixed(2)} GB per token; each decode against the probe right after it): median ${pct(50)}%, middle half ${pct(25)}-${pct(75)}%.`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  if (o.json)
    writeFileSync(
      o.json,
      `${JSON.stringify({ machine: cpu, threads, isa: gb.isa, llama_bin: o["llama-bin"], rounds, samples }, null, 2)}\n`,
    );
}

await main();
