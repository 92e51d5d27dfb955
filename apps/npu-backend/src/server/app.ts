/**
 * The backend's HTTP app. `createApp(deps)` builds it from its parts (no module state, no I/O), so
 * tests run the real app on a real model with `app.request(...)` or a loopback server.
 *
 * Middleware order: request id + access log, `x-gearbox-inflight` on every answer, body limit
 * (413 before anything reads a body), authentication (signature or API key) for /v1/*, then the
 * routes. /health and /metrics are open: load balancers and Prometheus do not sign.
 */
import { limitRequestBody } from "@gearbox/shared";
import { Hono } from "hono";
import type { Logger } from "pino";
import type { GearboxMetrics } from "../metrics/metrics.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { requestContext } from "./access-log.js";
import type { AppEnv } from "./app-env.js";
import { type AuthSettings, authenticate } from "./authenticate.js";
import { onError, onNotFound } from "./error-handler.js";
import { chatCompletionsRoute } from "./routes/chat-completions.js";
import type { CompletionRouteDeps } from "./routes/completion-route-deps.js";
import { completionsRoute } from "./routes/completions.js";
import { gearsRoute } from "./routes/gears.js";
import { healthRoute } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { modelsRoute } from "./routes/models.js";
import { playgroundRoute } from "./routes/playground.js";

export interface AppDeps {
  models: ModelRegistry;
  metrics: GearboxMetrics;
  logger: Logger;
  auth: AuthSettings;
  limits: CompletionRouteDeps["limits"] & { maxBodyBytes: number };
  logPrompts: boolean;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(onNotFound);
  app.use(...requestContext(deps.logger));
  app.use(async (c, next) => {
    await next();
    const { running, waiting } = deps.models.activity;
    c.header("x-gearbox-inflight", String(running + waiting));
  });

  app.get("/health", healthRoute(deps.models));
  app.get("/metrics", metricsRoute(deps.metrics));
  app.get("/playground", playgroundRoute);

  const maxSize = deps.limits.maxBodyBytes;
  app.use(
    "/v1/*",
    async (c, next) => {
      c.req.raw = await limitRequestBody(c.req.raw, maxSize);
      await next();
    },
    authenticate(deps.auth),
  );
  const completionDeps: CompletionRouteDeps = {
    models: deps.models,
    limits: deps.limits,
    logPrompts: deps.logPrompts,
  };
  app.post("/v1/chat/completions", chatCompletionsRoute(completionDeps));
  app.post("/v1/completions", completionsRoute(completionDeps));
  app.get("/v1/models", modelsRoute(deps.models));
  app.get("/v1/gears", gearsRoute(deps.models));
  return app;
}
