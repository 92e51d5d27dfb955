/**
 * The worker's bindings (wrangler.toml) and the settings read from its variables. Settings are
 * validated once per isolate; a bad value stops every request with a 500 that names the variable,
 * rather than an edge that half works.
 */
import { z } from "zod";
import type { AuthenticatedKey } from "./auth/api-key-auth.js";
import type { RateLimiter } from "./limits/rate-limiter.js";

export interface Env {
  /** `key:<sha256 hex>` → ApiKeyRecord JSON (see @gearbox/shared keys). */
  API_KEYS: KVNamespace;
  /** One RateLimiter Durable Object per API key. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Backend base URLs, separated by commas or whitespace. */
  UPSTREAMS?: string;
  /** Shared with the backends; signs every upstream request (a secret: `wrangler secret put`). */
  GEARBOX_UPSTREAM_SECRET?: string;
  MAX_BODY_BYTES?: string;
  /** Empty: no CORS headers. `*`: any origin. Otherwise a comma-separated list of origins. */
  CORS_ORIGINS?: string;
  HEALTH_CHECK_INTERVAL_MS?: string;
  UPSTREAM_HEADERS_TIMEOUT_MS?: string;
  UPSTREAM_RESPONSE_TIMEOUT_MS?: string;
  MAX_TOKENS_DEFAULT?: string;
  QUIET_STREAM_SETTLE_MS?: string;
  UPSTREAM_IDLE_TIMEOUT_MS?: string;
}

const urlList = z
  .string({ error: "is not set (comma-separated backend base URLs)" })
  .transform((text) => text.split(/[\s,]+/).filter((url) => url.length > 0))
  .pipe(
    z
      .array(
        z
          .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
          .transform((url) => url.replace(/\/+$/, "")),
      )
      .min(1, "lists no backend URL"),
  );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const configSchema = z.object({
  UPSTREAMS: urlList,
  GEARBOX_UPSTREAM_SECRET: z
    .string({ error: "is not set (the secret shared with the backends)" })
    .min(16, "must be at least 16 characters"),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((text) => text.split(/[\s,]+/).filter((origin) => origin.length > 0)),
  HEALTH_CHECK_INTERVAL_MS: positiveInt(5_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  UPSTREAM_RESPONSE_TIMEOUT_MS: positiveInt(660_000),
  MAX_TOKENS_DEFAULT: positiveInt(512),
  QUIET_STREAM_SETTLE_MS: positiveInt(30_000),
  UPSTREAM_IDLE_TIMEOUT_MS: positiveInt(30_000),
});

export interface EdgeConfig {
  upstreams: string[];
  upstreamSecret: string;
  maxBodyBytes: number;
  corsOrigins: string[];
  healthCheckIntervalMs: number;
  /** How long a streaming request may wait for the upstream's headers before trying another one. */
  upstreamHeadersTimeoutMs: number;
  /**
   * How long a non-streamed request may wait for its answer. It has been sent and may be running,
   * so it is never retried elsewhere: past this the client gets a 504. Keep it above the backends'
   * limits.requestTimeoutSeconds, so that a backend ends a request that runs too long itself.
   */
  upstreamResponseTimeoutMs: number;
  /**
   * Completion tokens per choice for a request without max_tokens: what the token budget reserves
   * and the most the backend generates (it is sent as x-gearbox-max-tokens).
   */
  maxTokensDefault: number;
  /** A stream that moved nothing this long (its client left) is charged what it reported. */
  quietStreamSettleMs: number;
  /** A stream whose backend sent nothing (not even a ping) this long is ended with an error. */
  upstreamIdleTimeoutMs: number;
}

/** The settings in `env`, or a message naming each bad variable. */
export function readConfig(env: Env): { ok: true; config: EdgeConfig } | { ok: false; message: string } {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
    return { ok: false, message: `The edge is misconfigured: ${problems.join("; ")}.` };
  }
  const vars = parsed.data;
  return {
    ok: true,
    config: {
      upstreams: vars.UPSTREAMS,
      upstreamSecret: vars.GEARBOX_UPSTREAM_SECRET,
      maxBodyBytes: vars.MAX_BODY_BYTES,
      corsOrigins: vars.CORS_ORIGINS,
      healthCheckIntervalMs: vars.HEALTH_CHECK_INTERVAL_MS,
      upstreamHeadersTimeoutMs: vars.UPSTREAM_HEADERS_TIMEOUT_MS,
      upstreamResponseTimeoutMs: vars.UPSTREAM_RESPONSE_TIMEOUT_MS,
      maxTokensDefault: vars.MAX_TOKENS_DEFAULT,
      quietStreamSettleMs: vars.QUIET_STREAM_SETTLE_MS,
      upstreamIdleTimeoutMs: vars.UPSTREAM_IDLE_TIMEOUT_MS,
    },
  };
}

/** Hono's view of the worker: bindings plus what middleware puts on the context. */
export interface EdgeEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    apiKey: AuthenticatedKey;
  };
}
