/** GET /v1/gears (admin): each model's gears (hits, misses, compile time, memory) and KV cache state. */
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
        ...m.engine.gearReport(),
      })),
    });
}
