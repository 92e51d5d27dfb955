/**
 * Prometheus series of the backend, named as vLLM names its own (`vllm:num_requests_running` is
 * `gearbox:num_requests_running` here), so that existing dashboards need only the prefix changed;
 * every series carries `model_name`. One registry per app: no global state.
 *
 * Gauges of scheduler and KV state, and the engine's cumulative gear counters, are read at scrape
 * time from the models registered with `watch`; request and token series are pushed by each
 * model's scheduler through the SchedulerMetrics it gets from `forModel`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EngineModel } from "../engine/engine.js";
import type { GrammarStats } from "../grammar/grammar-compiler.js";
import type { RequestOutcome, SchedulerMetrics } from "../scheduler/scheduler-metrics.js";

/** What is read from a model at scrape time. */
export interface WatchedModel {
  readonly id: string;
  readonly engine: EngineModel;
  readonly scheduler: { readonly runningRequests: number; readonly waitingRequests: number };
  /** Structured-output grammars (absent in tests that watch a bare engine). */
  readonly grammars?: { readonly stats: GrammarStats };
}

const PREFIX = "gearbox:";
// Buckets of vLLM's histograms of the same names.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
const ITL_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
const REQUEST_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960];
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class GearboxMetrics {
  readonly registry = new Registry();
  private readonly watched: WatchedModel[] = [];

  private readonly promptTokens = this.counter("prompt_tokens_total", "Prompt tokens of admitted requests.");
  private readonly prefixCacheHits = this.counter(
    "prefix_cache_hit_tokens_total",
    "Prompt tokens found in the prefix cache (not computed again).",
  );
  private readonly generationTokens = this.counter("generation_tokens_total", "Generated tokens.");
  private readonly requestSuccess = this.counter(
    "request_success_total",
    "Requests finished, by finish reason.",
    ["finished_reason"],
  );
  private readonly requestFailure = this.counter(
    "request_failure_total",
    "Requests that ended without finishing: error (engine, deadline, shutdown) or cancelled (client gone).",
    ["reason"],
  );
  private readonly ttft = this.histogram(
    "time_to_first_token_seconds",
    "Arrival to first token.",
    TTFT_BUCKETS,
  );
  private readonly itl = this.histogram(
    "inter_token_latency_seconds",
    "Between two tokens of a choice.",
    ITL_BUCKETS,
  );
  private readonly e2e = this.histogram(
    "e2e_request_latency_seconds",
    "Arrival to the end.",
    REQUEST_BUCKETS,
  );
  private readonly queueTime = this.histogram(
    "request_queue_time_seconds",
    "Time spent waiting.",
    REQUEST_BUCKETS,
  );
  private readonly stepTime = this.histogram("engine_step_seconds", "One engine step.", STEP_BUCKETS);
  private readonly stepTokens = this.counter("step_tokens_total", "Tokens computed by engine steps.", [
    "phase",
  ]);

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const watched = this.watched;
    const gauge = (name: string, help: string, read: (m: WatchedModel) => number) =>
      new Gauge({
        name: PREFIX + name,
        help,
        labelNames: ["model_name"],
        registers: [this.registry],
        collect() {
          for (const m of watched) this.set({ model_name: m.id }, read(m));
        },
      });
    gauge("num_requests_running", "Requests generating.", (m) => m.scheduler.runningRequests);
    gauge("num_requests_waiting", "Requests queued.", (m) => m.scheduler.waitingRequests);
    gauge("kv_cache_usage_perc", "KV cache blocks in use by sequences (0..1).", (m) => {
      const kv = m.engine.kvStats();
      return kv.blocksTotal === 0 ? 0 : kv.blocksUsed / kv.blocksTotal;
    });
    gauge(
      "kv_cache_blocks_used",
      "KV cache blocks held by live sequences.",
      (m) => m.engine.kvStats().blocksUsed,
    );
    gauge(
      "kv_cache_blocks_cached",
      "KV blocks kept for the prefix cache only (reusable).",
      (m) => m.engine.kvStats().blocksCached,
    );
    gauge("kv_cache_blocks_total", "KV cache blocks.", (m) => m.engine.kvStats().blocksTotal);
    gauge("num_sequences", "Engine sequences alive.", (m) => m.engine.kvStats().sequences);
    this.gearSeries();
    this.grammarSeries();
  }

  /** The grammar compilers' cumulative counters, mirrored at scrape time. */
  private grammarSeries(): void {
    const watched = this.watched;
    const registers = [this.registry];
    const labelNames = ["model_name"];
    const counter = (name: string, help: string, read: (s: GrammarStats) => number) =>
      new Counter({
        name: PREFIX + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const m of watched) if (m.grammars) this.inc({ model_name: m.id }, read(m.grammars.stats));
        },
      });
    counter(
      "grammar_cache_hits_total",
      "Constrained requests whose grammar was compiled already.",
      (s) => s.hits,
    );
    counter(
      "grammar_cache_misses_total",
      "Constrained requests that compiled their grammar.",
      (s) => s.misses,
    );
    counter("grammar_compile_seconds_total", "Time spent compiling grammars.", (s) => s.compileSeconds);
    counter("grammar_masks_total", "Next-token masks computed.", (s) => s.masks);
    counter("grammar_mask_seconds_total", "Time spent computing next-token masks.", (s) => s.maskSeconds);
    new Gauge({
      name: `${PREFIX}grammar_cache_entries`,
      help: "Compiled grammars kept.",
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of watched) if (m.grammars) this.set({ model_name: m.id }, m.grammars.stats.cached);
      },
    });
  }

  /** Adds a model's scheduler and engine to what is read at scrape time. */
  watch(model: WatchedModel): void {
    this.watched.push(model);
  }

  /** The SchedulerMetrics of one model. */
  forModel(modelId: string): SchedulerMetrics {
    const model = { model_name: modelId };
    return {
      requestAdmitted: (queueSeconds, promptTokens, cachedTokens) => {
        this.queueTime.observe(model, queueSeconds);
        this.promptTokens.inc(model, promptTokens);
        this.prefixCacheHits.inc(model, cachedTokens);
      },
      firstToken: (seconds) => this.ttft.observe(model, seconds),
      interToken: (seconds) => this.itl.observe(model, seconds),
      tokensGenerated: (count) => this.generationTokens.inc(model, count),
      requestFinished: (seconds, outcome: RequestOutcome) => {
        if (outcome === "stop" || outcome === "length") {
          this.requestSuccess.inc({ ...model, finished_reason: outcome });
          this.e2e.observe(model, seconds);
        } else {
          this.requestFailure.inc({ ...model, reason: outcome });
        }
      },
      stepRan: (decodeTokens, prefillTokens, seconds) => {
        this.stepTime.observe(model, seconds);
        if (decodeTokens > 0) this.stepTokens.inc({ ...model, phase: "decode" }, decodeTokens);
        if (prefillTokens > 0) this.stepTokens.inc({ ...model, phase: "prefill" }, prefillTokens);
      },
    };
  }

  /** The text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The engine's cumulative per-gear counters, mirrored at scrape time. */
  private gearSeries(): void {
    const watched = this.watched;
    const labelNames = ["model_name", "phase", "bucket"] as const;
    type GearField = "hits" | "misses" | "evictions" | "realTokens" | "paddedTokens";
    const mirrored = (name: string, help: string, field: GearField) =>
      new Counter({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          // Cumulative values kept by the engine: set them as they are.
          this.reset();
          for (const m of watched) {
            for (const g of m.engine.gearReport().gears) {
              this.inc({ model_name: m.id, phase: g.phase, bucket: String(g.bucket) }, g[field]);
            }
          }
        },
      });
    mirrored("gear_hits_total", "Steps run on a ready gear.", "hits");
    mirrored(
      "gear_misses_total",
      "Steps that found their gear not ready (ran on the generic plan).",
      "misses",
    );
    mirrored("gear_evictions_total", "Times a gear's plan was evicted from the plan cache.", "evictions");
    mirrored(
      "gear_real_tokens_total",
      "Tokens (prefill) or sequences (decode) computed by a gear.",
      "realTokens",
    );
    mirrored(
      "gear_padded_tokens_total",
      "Padding rows computed by a gear (static-shape backends).",
      "paddedTokens",
    );
    const perGear = (
      name: string,
      help: string,
      read: (g: ReturnType<EngineModel["gearReport"]>["gears"][number]) => number,
    ) =>
      new Gauge({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const m of watched) {
            for (const g of m.engine.gearReport().gears) {
              this.set({ model_name: m.id, phase: g.phase, bucket: String(g.bucket) }, read(g));
            }
          }
        },
      });
    perGear(
      "gear_compile_seconds",
      "Time the gear took to compile (autotuning included).",
      (g) => (g.compileMs + g.autotuneMs) / 1000,
    );
    perGear("gear_resident_bytes", "Memory held by the gear's plan.", (g) => g.residentBytes);
    perGear("gear_ready", "1 when the gear's plan is compiled and resident.", (g) =>
      g.state === "ready" ? 1 : 0,
    );
    new Counter({
      name: `${PREFIX}gear_fallbacks_total`,
      help: "Steps with no gear of their shape (ran on the generic plan).",
      labelNames: ["model_name"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of watched) this.inc({ model_name: m.id }, m.engine.gearReport().fallbacks);
      },
    });
  }

  private counter(name: string, help: string, extraLabels: string[] = []) {
    return new Counter({
      name: PREFIX + name,
      help,
      labelNames: ["model_name", ...extraLabels],
      registers: [this.registry],
    });
  }

  private histogram(name: string, help: string, buckets: number[]) {
    return new Histogram({
      name: PREFIX + name,
      help,
      labelNames: ["model_name"],
      buckets,
      registers: [this.registry],
    });
  }
}
