/** GET /metrics: the Prometheus text exposition. */
import type { Context } from "hono";
import type { GearboxMetrics } from "../../metrics/metrics.js";
import type { AppEnv } from "../app-env.js";

export function metricsRoute(metrics: GearboxMetrics) {
  return async (c: Context<AppEnv>): Promise<Response> =>
    c.body(await metrics.render(), 200, { "content-type": metrics.contentType });
}
