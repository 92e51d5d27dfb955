/**
 * GET /v1/gears (admin): each model's gears (hits, misses, compile time, memory), KV cache state,
 * and how its one-token passes stream their weights (the CPU engine's software prefetch choice).
 */
import type { Context } from "hono";
import type { ModelRegistry } from "../../models/model-registry.js";
import type { AppEnv } from "../app-env.js";

export function gearsRoute(models: ModelRegistry) {
  return (c: Context<AppEnv>): Response =>
    c.json({
      object: "list",
      data: models.models.map((m) => ({
        model: m.id,
        isa: m.engine.device.isa,
        threads: m.engine.device.threads,
        kv: m.engine.kvStats(),
        kvBlocksReserved: m.scheduler.kvBlocksReserved,
        weightPrefetch: m.engine.profile().weightPrefetch ?? null,
        ...m.engine.gearReport(),
      })),
    });
}
