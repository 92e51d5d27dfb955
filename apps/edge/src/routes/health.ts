/** GET /health of the edge itself: 200 while at least one backend is available, else 503. */
import type { Handler } from "hono";
import { type EdgeDeps, HEALTH_PROBE_TIMEOUT_MS } from "../deps.js";
import type { EdgeEnv } from "../env.js";
import { probeHealth } from "../upstream/health.js";

export function healthHandler(deps: EdgeDeps): Handler<EdgeEnv> {
  return async (c) => {
    if (deps.pool.needsCheck(deps.config.healthCheckIntervalMs)) {
      await deps.pool.checkAll((upstream) =>
        probeHealth(upstream, deps.config.upstreamSecret, HEALTH_PROBE_TIMEOUT_MS),
      );
    }
    const available = deps.pool.available().length;
    // Counts only: backend addresses are not for the public.
    const body = {
      status: available > 0 ? "ok" : "unavailable",
      upstreams: { available, total: deps.pool.upstreams.length },
    };
    return c.json(body, available > 0 ? 200 : 503);
  };
}
