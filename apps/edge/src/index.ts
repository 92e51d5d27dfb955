/** The gearbox edge worker (wrangler.toml `main`): the app plus the RateLimiter Durable Object. */
import { errorBody, internalError } from "@gearbox/shared";
import { Hono } from "hono";
import { createApp } from "./app.js";
import { KeyCache } from "./auth/key-cache.js";
import { type EdgeEnv, type Env, readConfig } from "./env.js";
import { OpenStreams } from "./limits/open-streams.js";
import { UpstreamPool } from "./upstream/pool.js";

export { RateLimiter } from "./limits/rate-limiter.js";

// Workers keep module state per isolate, and what the pool learns (load, health, back-off) and
// the key cache are only worth something if they outlive a request. So the app is built once per isolate, and again
// only if the settings change (wrangler dev reloading vars).
let built: { fingerprint: string; app: Hono<EdgeEnv> } | undefined;

function appFor(env: Env): Hono<EdgeEnv> {
  const fingerprint = JSON.stringify([
    env.UPSTREAMS,
    env.GEARBOX_UPSTREAM_SECRET,
    env.MAX_BODY_BYTES,
    env.CORS_ORIGINS,
    env.HEALTH_CHECK_INTERVAL_MS,
    env.UPSTREAM_HEADERS_TIMEOUT_MS,
    env.UPSTREAM_RESPONSE_TIMEOUT_MS,
    env.MAX_TOKENS_DEFAULT,
    env.QUIET_STREAM_SETTLE_MS,
    env.UPSTREAM_IDLE_TIMEOUT_MS,
  ]);
  if (built?.fingerprint !== fingerprint) {
    const read = readConfig(env);
    const app = read.ok
      ? createApp({
          config: read.config,
          pool: new UpstreamPool(read.config.upstreams),
          keys: new KeyCache(),
          streams: new OpenStreams(read.config.quietStreamSettleMs),
        })
      : misconfigured(read.message);
    built = { fingerprint, app };
  }
  return built.app;
}

/** Answers every request with a 500 naming the bad setting, and logs it. */
function misconfigured(message: string): Hono<EdgeEnv> {
  console.error(`gearbox edge: ${message}`);
  const app = new Hono<EdgeEnv>();
  app.all("*", (c) => c.json(errorBody(internalError(message)), 500));
  return app;
}

export default {
  fetch(request, env, ctx) {
    return appFor(env).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
