/**
 * A whole backend in one process: metrics, the model registry, the app, and the HTTP server on
 * its host and port. The server listens before the models load (so /health answers 503 while
 * they load and warm up); `ready` resolves once they serve. Used by `gearbox serve`, `gearbox
 * start`, the tests and the benchmarks alike.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import { type Logger, pino } from "pino";
import type { Config } from "../config/load-config.js";
import { checkServingSecurity } from "../config/serving-security.js";
import type { Engine } from "../engine/engine.js";
import { GearboxMetrics } from "../metrics/metrics.js";
import { type LoadProgress, ModelRegistry } from "../models/model-registry.js";
import { createApp } from "./app.js";
import type { AppEnv } from "./app-env.js";

export interface BackendOptions {
  config: Config;
  engine: Engine;
  logger?: Logger;
  onLoadProgress?: LoadProgress;
}

export interface Backend {
  readonly app: Hono<AppEnv>;
  readonly models: ModelRegistry;
  readonly metrics: GearboxMetrics;
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  /** Resolves when every model is loaded and warm; rejects if one fails to load. */
  readonly ready: Promise<void>;
  /**
   * Stops listening, lets running requests finish for up to `graceMs` (default: the config's),
   * ends the rest with an error, and frees the models.
   */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const { config, engine } = options;
  checkServingSecurity(config);
  const logger = options.logger ?? pino({ level: config.log.level });
  const metrics = new GearboxMetrics();
  const models = new ModelRegistry(config, engine, metrics, (err) => logger.error({ err }, "engine error"));
  const app = createApp({
    models,
    metrics,
    logger,
    auth: config.auth,
    limits: config.limits,
    logPrompts: config.log.prompts,
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, models: config.models.map((m) => m.id) }, "listening; loading models");

  const ready = models.load(options.onLoadProgress).then(() => {
    logger.info({ models: models.names }, "ready");
  });
  ready.catch(() => {}); // the caller awaits it; this keeps an early failure from being unhandled

  let shutdown: Promise<void> | undefined;
  return {
    app,
    models,
    metrics,
    url,
    port,
    ready,
    shutdown(graceMs = config.limits.shutdownGraceSeconds * 1000) {
      shutdown ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ready.catch(() => {});
        await models.drain(graceMs);
        await models.close();
        // Streams ended above have written their error frames; drop what is left.
        setTimeout(() => server.closeAllConnections(), 100).unref();
        await closed;
        logger.info("stopped");
      })();
      return shutdown;
    },
  };
}
