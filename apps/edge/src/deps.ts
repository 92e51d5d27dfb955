/** What the app is built from: settings and the per-isolate state (backend pool, key cache, open streams). */
import type { KeyCache } from "./auth/key-cache.js";
import type { EdgeConfig } from "./env.js";
import type { OpenStreams } from "./limits/open-streams.js";
import type { UpstreamPool } from "./upstream/pool.js";

export interface EdgeDeps {
  config: EdgeConfig;
  pool: UpstreamPool;
  keys: KeyCache;
  /** Streams whose token budget is not settled yet. */
  streams: OpenStreams;
}

/** A health probe must answer quickly: a slow /health is as good as no /health. */
export const HEALTH_PROBE_TIMEOUT_MS = 2_000;
