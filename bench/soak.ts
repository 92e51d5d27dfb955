/**
 * The long part of the reliability suite (docs/RELIABILITY.md): the real edge in workerd in front
 * of two real `gearbox serve` processes, each serving two tiny synthetic models (tiny-en, tiny-zh),
 * under mixed traffic for --minutes — streamed and not, English and Chinese through `auto`,
 * clients that abort at random points, and temperature-0 "witness" requests that must always get
 * the same text — while the full-size runs go on beside it: the API fuzz at a backend and at the
 * edge, the GGUF fuzz, and the random-point abort storm through the edge. RSS and KV are sampled
 * throughout and checked flat at the end. Prints a summary; exits 1 if any check failed.
 *
 *   npm run soak -- --minutes 10 [--fuzz-runs 10000] [--gguf-runs 10000] [--abort-runs 1000]
 *        [--concurrency 4] [--json]
 *
 * Time bound: the traffic stops at --minutes; the fuzz runs that are not done by then are
 * finished, and the whole run is cut (exit 1) at twice --minutes plus 10 minutes.
 */
import { parseArgs } from "node:util";
import { authHeaders, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { fuzzApi } from "../apps/npu-backend/test/support/api-fuzz.js";
import { fuzzGguf } from "../apps/npu-backend/test/support/gguf-fuzz.js";
import { abortStorm } from "../test/support/abort-storm.js";
import {
  type BackendProcess,
  backendIdle,
  backendMetric,
  startBackendProcess,
  writeBackendConfig,
} from "../test/support/backend-process.js";
import { chatStream, waitUntil } from "../test/support/streams.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "fuzz-runs": { type: "string", default: "10000" },
    "gguf-runs": { type: "string", default: "10000" },
    "abort-runs": { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
    json: { type: "boolean", default: false },
  },
});
const MINUTES = Number(values.minutes);
const FUZZ_RUNS = Number(values["fuzz-runs"]);
const GGUF_RUNS = Number(values["gguf-runs"]);
const ABORT_RUNS = Number(values["abort-runs"]);
const CONCURRENCY = Number(values.concurrency);
const MODELS = ["tiny-en", "tiny-zh"];
const KEY = "soak-backend-key-0123456789abcdef";
const MiB = 2 ** 20;

const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const failures: string[] = [];
const fail = (what: string) => {
  failures.push(what);
  log(`FAIL ${what}`);
};

// A deterministic PRNG (mulberry32): the same traffic on every run.
let prng = 0x5eed;
function random(): number {
  prng = (prng + 0x6d2b79f5) | 0;
  let t = Math.imul(prng ^ (prng >>> 15), 1 | prng);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const EN = [
  "Tell me about the sea",
  "What is a gearbox?",
  "Write a short poem about rain",
  "Explain batching",
];
const ZH = ["你好，请介绍一下你自己。", "今天天气怎么样？", "写一首关于大海的诗", "请解释一下连续批处理"];
const WITNESS = {
  model: "auto",
  messages: [{ role: "user", content: "Tell me about the sea" }],
  max_tokens: 16,
  temperature: 0,
};

interface Traffic {
  requests: number;
  streamed: number;
  chinese: number;
  aborted: number;
  witnesses: number;
  byStatus: Record<string, number>;
}

async function main(): Promise<void> {
  const started = performance.now();
  const hardLimit = setTimeout(
    () => {
      log(`time bound (${MINUTES * 2 + 10} min) passed: stopping`);
      process.exit(1);
    },
    (MINUTES * 2 + 10) * 60_000,
  );
  hardLimit.unref();

  const config = await writeBackendConfig({ limits: { maxTokensDefault: 8 } }, { zh: true });
  const env = { GEARBOX_UPSTREAM_SECRET: TEST_SECRET };
  const backends: BackendProcess[] = await Promise.all([
    startBackendProcess(["--config", config, "--api-key", KEY], env),
    startBackendProcess(["--config", config, "--api-key", KEY], env),
  ]);
  const edge = await startEdge(backends.map((b) => b.url));
  const key = await edge.addKey({ name: "soak" });
  const headers = authHeaders(key);
  log(`backends ${backends.map((b) => b.url).join(", ")}; edge ${edge.url}; ${MINUTES} min of traffic`);

  // ---------------------------------------------------------------- samples of RSS and KV
  const samples: Array<{ t: number; rss: number[]; kvUsed: number[] }> = [];
  const sample = async () => {
    const rss = await Promise.all(backends.map((b) => backendMetric(b.url, "process_resident_memory_bytes")));
    const kvUsed = await Promise.all(
      backends.map(async (b) => {
        let used = 0;
        for (const model of MODELS)
          used += await backendMetric(b.url, "gearbox:kv_cache_blocks_used", { model_name: model });
        return used;
      }),
    );
    samples.push({ t: (performance.now() - started) / 1000, rss, kvUsed });
  };
  await sample();
  const sampler = setInterval(() => void sample().catch(() => {}), 10_000);

  // ---------------------------------------------------------------- mixed traffic
  const deadline = performance.now() + MINUTES * 60_000;
  const reference = await chatStream(edge.url, headers, WITNESS);
  const traffic: Traffic = { requests: 0, streamed: 0, chinese: 0, aborted: 0, witnesses: 0, byStatus: {} };
  const trafficWorker = async () => {
    while (performance.now() < deadline) {
      traffic.requests++;
      if (random() < 0.1) {
        traffic.witnesses++;
        const w = await chatStream(edge.url, headers, WITNESS);
        traffic.byStatus[w.status] = (traffic.byStatus[w.status] ?? 0) + 1;
        if (!w.done || w.text !== reference.text)
          fail(`witness got ${JSON.stringify(w)} instead of ${JSON.stringify(reference.text)}`);
        continue;
      }
      const chinese = random() < 0.4;
      if (chinese) traffic.chinese++;
      const body = {
        model: pick(["auto", chinese ? "tiny-zh" : "tiny-en"]),
        messages: [{ role: "user", content: pick(chinese ? ZH : EN) }],
        max_tokens: 4 + Math.floor(random() * 60),
        temperature: pick([0, 0.7, 1]),
      };
      if (random() < 0.6) {
        traffic.streamed++;
        const abort = random() < 0.3;
        const plan = abort
          ? random() < 0.5
            ? { afterMs: Math.floor(random() * 200) }
            : { afterChunks: 1 + Math.floor(random() * 20) }
          : {};
        const s = await chatStream(edge.url, headers, body, plan);
        if (s.aborted) traffic.aborted++;
        traffic.byStatus[s.status] = (traffic.byStatus[s.status] ?? 0) + 1;
        if (s.error !== undefined || (!s.aborted && !s.done))
          fail(`stream ${JSON.stringify(body)} ended ${JSON.stringify(s)}`);
      } else {
        const response = await fetch(`${edge.url}/v1/chat/completions`, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
        });
        traffic.byStatus[response.status] = (traffic.byStatus[response.status] ?? 0) + 1;
        const text = await response.text();
        if (response.status !== 200)
          fail(`request ${JSON.stringify(body)} got ${response.status}: ${text.slice(0, 200)}`);
      }
    }
  };
  const trafficDone = Promise.all(Array.from({ length: CONCURRENCY }, trafficWorker));

  // ---------------------------------------------------------------- the full-size runs, one after another
  const report: Record<string, unknown> = {};
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    log(`${name}: started`);
    const result = await run();
    const seconds = (performance.now() - t0) / 1000;
    report[name] = { seconds: Math.round(seconds), ...(result as object) };
    log(`${name}: done in ${seconds.toFixed(0)} s`);
    return result;
  };
  const backendFuzz = await timed("backend API fuzz", () =>
    fuzzApi(
      { url: backends[0]?.url ?? "", auth: { authorization: `Bearer ${KEY}` }, model: "tiny-en" },
      { runs: FUZZ_RUNS, seed: 2201 },
    ),
  );
  if (backendFuzz.violationCount > 0)
    fail(`backend API fuzz: ${backendFuzz.violationCount} violations: ${backendFuzz.violations.join(" | ")}`);
  const edgeFuzz = await timed("edge API fuzz", () =>
    fuzzApi(
      { url: edge.url, auth: { authorization: `Bearer ${key}` }, model: "tiny-en" },
      { runs: FUZZ_RUNS, seed: 2202 },
    ),
  );
  if (edgeFuzz.violationCount > 0)
    fail(`edge API fuzz: ${edgeFuzz.violationCount} violations: ${edgeFuzz.violations.join(" | ")}`);
  const gguf = await timed("GGUF fuzz", () => fuzzGguf({ runs: GGUF_RUNS, seed: 2203 }));
  if (gguf.crashes.length > 0)
    fail(`GGUF fuzz: ${gguf.crashes.length} crashes: ${gguf.crashes.slice(0, 10).join(" | ")}`);
  if (gguf.badRejections.length > 0)
    fail(
      `GGUF fuzz: ${gguf.badRejections.length} rejections not naming the problem: ${gguf.badRejections.slice(0, 10).join(" | ")}`,
    );
  const storm = await timed("abort storm", () =>
    abortStorm({ url: edge.url, headers, model: "auto", runs: ABORT_RUNS, seed: 2204 }),
  );
  if (storm.badEnds.length > 0)
    fail(`abort storm: ${storm.badEnds.length} bad ends: ${storm.badEnds.slice(0, 5).join(" | ")}`);
  if (storm.witnessFailures.length > 0)
    fail(
      `abort storm: ${storm.witnessFailures.length} witness failures: ${storm.witnessFailures.slice(0, 5).join(" | ")}`,
    );

  await trafficDone;
  clearInterval(sampler);
  log("traffic stopped; waiting for the backends to settle");

  // ---------------------------------------------------------------- settled: gauges, KV, RSS, still serving
  for (const b of backends)
    for (const model of MODELS)
      await waitUntil(() => backendIdle(b.url, model), `${b.url} ${model} idle`, 30_000).catch((e: Error) =>
        fail(e.message),
      );
  await sample();
  for (const b of backends)
    if (b.child.exitCode !== null || b.child.signalCode !== null) fail(`backend ${b.url} exited`);
  const last = await chatStream(edge.url, headers, WITNESS);
  if (last.text !== reference.text) fail(`after the soak the witness got ${JSON.stringify(last.text)}`);

  // RSS flat: the high-water mark of the second half of the run may not exceed that of the first
  // half by more than max(64 MiB, 15 %). (A single early sample is no baseline: RSS swings by
  // ~100 MiB with garbage collection and the fuzzers' bursts, and one run's warm-up sample fell in a
  // trough.) This catches a leak of tens of MiB per run, not a slow one of a few MiB.
  const half = (MINUTES * 60) / 2;
  const end = samples[samples.length - 1];
  const rss = backends.map((_, i) => {
    const of = (list: typeof samples) => Math.max(...list.map((s) => s.rss[i] ?? 0)) / MiB;
    return {
      startMiB: Math.round((samples[0]?.rss[i] ?? 0) / MiB),
      firstHalfMaxMiB: Math.round(of(samples.filter((s) => s.t < half))),
      secondHalfMaxMiB: Math.round(of(samples.filter((s) => s.t >= half))),
      endMiB: Math.round((end?.rss[i] ?? 0) / MiB),
    };
  });
  rss.forEach((r, i) => {
    const growth = r.secondHalfMaxMiB - r.firstHalfMaxMiB;
    if (growth > Math.max(64, r.firstHalfMaxMiB * 0.15))
      fail(
        `backend ${i} RSS high-water mark grew ${growth} MiB (${r.firstHalfMaxMiB} -> ${r.secondHalfMaxMiB} MiB)`,
      );
  });
  const rssSeries = backends.map((_, i) => samples.map((s) => Math.round((s.rss[i] ?? 0) / MiB)));
  const kvMax = backends.map((_, i) => Math.max(...samples.map((s) => s.kvUsed[i] ?? 0)));
  const kvEnd = end?.kvUsed ?? [];
  if (kvEnd.some((v) => v !== 0)) fail(`KV blocks still in use at the end: ${JSON.stringify(kvEnd)}`);

  await edge.dispose();
  await Promise.all(backends.map((b) => b.stop()));

  const summary = {
    minutes: MINUTES,
    seconds: Math.round((performance.now() - started) / 1000),
    traffic,
    runs: report,
    rss,
    rssSeries,
    kvBlocksUsed: { max: kvMax, end: kvEnd },
    samples: samples.length,
    failures,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const line = (s: string) => process.stdout.write(`${s}\n`);
    line(
      `soak: ${summary.seconds} s (${MINUTES} min of traffic), ${failures.length === 0 ? "PASS" : `${failures.length} FAILURES`}`,
    );
    line(
      `traffic: ${traffic.requests} requests (${traffic.streamed} streamed, ${traffic.chinese} Chinese, ${traffic.aborted} aborted, ${traffic.witnesses} witnesses), statuses ${JSON.stringify(traffic.byStatus)}`,
    );
    line(
      `backend API fuzz: ${backendFuzz.sent} requests, statuses ${JSON.stringify(backendFuzz.byStatus)}, ${backendFuzz.violationCount} violations`,
    );
    line(
      `edge API fuzz: ${edgeFuzz.sent} requests, statuses ${JSON.stringify(edgeFuzz.byStatus)}, ${edgeFuzz.violationCount} violations`,
    );
    line(
      `GGUF fuzz: ${gguf.files} files, ${gguf.loaded} loaded and ran, ${gguf.rejected} rejected (${Object.keys(gguf.reasons).length} kinds of reason), ${gguf.crashes.length} crashes, ${gguf.badRejections.length} unnamed rejections`,
    );
    line(
      `abort storm: ${storm.aborted} aborted, ${storm.finished} finished first, ${storm.witnesses} witnesses, ${storm.witnessFailures.length} witness failures, ${storm.badEnds.length} bad ends`,
    );
    line(`RSS (MiB) per backend: ${JSON.stringify(rss)}`);
    for (const [i, series] of rssSeries.entries())
      line(`RSS (MiB) of backend ${i}, every 10 s: ${series.join(" ")}`);
    line(`KV blocks used: max ${JSON.stringify(kvMax)}, at the end ${JSON.stringify(kvEnd)}`);
    for (const f of failures.slice(0, 20)) line(`  FAIL ${f.slice(0, 500)}`);
  }
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
