/** Active health checks: `GET /health` on a backend, as the backend contract defines it. */
import { z } from "zod";
import type { HealthReport, Upstream } from "./pool.js";
import { signedFetch } from "./signed-fetch.js";

const healthBodySchema = z.looseObject({
  status: z.string(),
  models: z.array(z.string()).default([]),
  running: z.number().nonnegative().default(0),
  waiting: z.number().nonnegative().default(0),
});

/** Probes one backend; any answer but a 200 with `"status":"ok"` within the timeout is unhealthy. */
export async function probeHealth(
  upstream: Upstream,
  secret: string,
  timeoutMs: number,
): Promise<HealthReport> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await signedFetch(upstream.url, secret, {
      method: "GET",
      path: "/health",
      signal: controller.signal,
    });
    const body = healthBodySchema.safeParse(await response.json().catch(() => undefined));
    if (!response.ok || !body.success || body.data.status !== "ok") {
      const status = body.success ? body.data.status : "unreadable body";
      return { healthy: false, reason: `/health answered ${response.status} (${status})` };
    }
    return { healthy: true, models: body.data.models, load: body.data.running + body.data.waiting };
  } catch (error) {
    const reason = controller.signal.aborted
      ? `no /health answer within ${timeoutMs} ms`
      : errorMessage(error);
    return { healthy: false, reason };
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
