/**
 * The edge worker's HTTP app: request ids, CORS, API keys, body limits and the OpenAI routes,
 * with every error answered in the OpenAI error format by one handler.
 */
import { ApiError, errorBody, internalError, limitRequestBody, unknownRoute } from "@gearbox/shared";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { apiKeyAuth } from "./auth/api-key-auth.js";
import { type EdgeDeps, HEALTH_PROBE_TIMEOUT_MS } from "./deps.js";
import type { EdgeEnv } from "./env.js";
import { chatCompletionsEndpoint, completionHandler, completionsEndpoint } from "./routes/completions.js";
import { healthHandler } from "./routes/health.js";
import { modelsHandler } from "./routes/models.js";
import { PLAYGROUND_PATH, playgroundHandler, rootHandler } from "./routes/playground.js";
import { probeHealth } from "./upstream/health.js";

/** Headers a browser client may read from our answers. */
const EXPOSED_HEADERS = [
  "x-request-id",
  "retry-after",
  "x-gearbox-model",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
];

export function createApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const { config, pool } = deps;
  const app = new Hono<EdgeEnv>();

  app.use(requestId());
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins.includes("*") ? "*" : config.corsOrigins,
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    );
  }
  // Active health checks ride on traffic: Workers have no timers outside a request.
  app.use(async (c, next) => {
    if (c.req.path !== "/health" && pool.needsCheck(config.healthCheckIntervalMs)) {
      c.executionCtx.waitUntil(
        pool.checkAll((upstream) => probeHealth(upstream, config.upstreamSecret, HEALTH_PROBE_TIMEOUT_MS)),
      );
    }
    await next();
  });

  app.get("/health", healthHandler(deps));
  app.get("/", rootHandler);
  app.get(PLAYGROUND_PATH, playgroundHandler);
  app.use("/v1/*", apiKeyAuth(deps.keys));
  app.get("/v1/models", modelsHandler(deps));
  const limitBody: MiddlewareHandler<EdgeEnv> = async (c, next) => {
    c.req.raw = await limitRequestBody(c.req.raw, config.maxBodyBytes);
    await next();
  };
  app.post("/v1/chat/completions", limitBody, completionHandler(deps, chatCompletionsEndpoint));
  app.post("/v1/completions", limitBody, completionHandler(deps, completionsEndpoint));

  app.notFound((c) => respondWithError(c, unknownRoute(c.req.method, c.req.path)));
  app.onError((error, c) => respondWithError(c, asApiError(error)));
  return app;
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  console.error("gearbox edge: unexpected error", error);
  return internalError();
}

function respondWithError(c: Context<EdgeEnv>, error: ApiError): Response {
  return c.json(errorBody(error), error.status, error.headers());
}
