/**
 * The backends of UPSTREAMS and what this isolate knows about them: requests it has in flight on
 * each, the load each last reported, the models each serves, and failures with exponential
 * back-off. Requests go to the available backend with the least load; a backend that failed is
 * skipped until its back-off ends, then gets traffic again (and a health probe) to prove itself.
 */

export interface Upstream {
  readonly url: string;
  /** Requests this isolate has sent and not yet finished reading. */
  inflight: number;
  /**
   * Requests on the backend that are not this isolate's (other isolates, other edges): its last
   * reported load (`x-gearbox-inflight`, or running + waiting from `/health`) less our own
   * in-flight count at that moment.
   */
  othersLoad: number;
  /** Model ids from the last health report; undefined until one arrives. */
  models: readonly string[] | undefined;
  /** Consecutive failures; 0 when healthy. */
  failures: number;
  /** Not picked before this time (ms since epoch) after a failure. */
  downUntilMs: number;
  lastError: string | undefined;
}

/** What a health probe learned about one backend. */
export type HealthReport =
  | { healthy: true; models: string[]; load: number }
  | { healthy: false; reason: string };

export interface PoolOptions {
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
}

export class UpstreamPool {
  readonly upstreams: readonly Upstream[];
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly now: () => number;
  private lastCheckMs = Number.NEGATIVE_INFINITY;
  private checking = false;
  private turn = 0;

  constructor(urls: readonly string[], options: PoolOptions = {}) {
    this.upstreams = urls.map((url) => ({
      url,
      inflight: 0,
      othersLoad: 0,
      models: undefined,
      failures: 0,
      downUntilMs: 0,
      lastError: undefined,
    }));
    this.backoffBaseMs = options.backoffBaseMs ?? 1_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Backends not in back-off (never-probed ones count as available). */
  available(): Upstream[] {
    const now = this.now();
    return this.upstreams.filter((upstream) => now >= upstream.downUntilMs);
  }

  /**
   * The available backend with the least load that has not been tried for this request,
   * preferring those that list `model` (a model no backend lists, e.g. an alias or "auto", goes to
   * any backend, which answers for itself). Ties rotate so that equal backends share the work.
   */
  pick(model: string | undefined, tried: ReadonlySet<Upstream> = new Set()): Upstream | undefined {
    const candidates = this.available().filter((upstream) => !tried.has(upstream));
    const serving = candidates.filter((upstream) => model !== undefined && upstream.models?.includes(model));
    const pool = serving.length > 0 ? serving : candidates;
    let best: Upstream | undefined;
    this.turn = (this.turn + 1) % Math.max(1, this.upstreams.length);
    for (let i = 0; i < pool.length; i++) {
      const upstream = pool[(i + this.turn) % pool.length] as Upstream;
      if (!best || load(upstream) < load(best)) best = upstream;
    }
    return best;
  }

  acquire(upstream: Upstream): void {
    upstream.inflight++;
  }

  release(upstream: Upstream): void {
    upstream.inflight = Math.max(0, upstream.inflight - 1);
  }

  /** The backend answered: it is healthy again; `reportedLoad` is the load it reported, if any. */
  reportSuccess(upstream: Upstream, reportedLoad?: number): void {
    upstream.failures = 0;
    upstream.downUntilMs = 0;
    upstream.lastError = undefined;
    if (reportedLoad !== undefined && Number.isFinite(reportedLoad) && reportedLoad >= 0) {
      upstream.othersLoad = Math.max(0, reportedLoad - upstream.inflight);
    }
  }

  /** The backend failed (connection error, timeout, 503): back off 1 s, 2 s, 4 s … up to the cap. */
  reportFailure(upstream: Upstream, reason: string): void {
    upstream.failures++;
    const backoff = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (upstream.failures - 1));
    upstream.downUntilMs = this.now() + backoff;
    upstream.lastError = reason;
  }

  applyHealth(upstream: Upstream, report: HealthReport): void {
    if (report.healthy) {
      upstream.models = report.models;
      this.reportSuccess(upstream, report.load);
    } else {
      this.reportFailure(upstream, report.reason);
    }
  }

  /** Seconds until the first backend leaves its back-off (for `retry-after` when none is available). */
  retryAfterSeconds(): number {
    const now = this.now();
    const next = Math.min(...this.upstreams.map((upstream) => upstream.downUntilMs));
    return Math.max(1, Math.ceil((next - now) / 1000));
  }

  /** True when the last round of health probes is older than `intervalMs` and none is running. */
  needsCheck(intervalMs: number): boolean {
    return !this.checking && this.now() - this.lastCheckMs >= intervalMs;
  }

  /** Probes every backend (in parallel) and records the results. */
  async checkAll(probe: (upstream: Upstream) => Promise<HealthReport>): Promise<void> {
    this.checking = true;
    this.lastCheckMs = this.now();
    try {
      await Promise.all(
        this.upstreams.map(async (upstream) => {
          this.applyHealth(upstream, await probe(upstream));
        }),
      );
    } finally {
      this.checking = false;
    }
  }
}

/** Our own requests, known exactly, plus the others' as last reported. */
function load(upstream: Upstream): number {
  return upstream.inflight + upstream.othersLoad;
}
