/** GET /v1/models: every name a request may use — model ids, their aliases, and "auto" when routed. */
import type { ModelList } from "@gearbox/shared";
import type { Context } from "hono";
import type { ModelRegistry } from "../../models/model-registry.js";
import { AUTO_MODEL } from "../../models/model-router.js";
import type { AppEnv } from "../app-env.js";

export function modelsRoute(models: ModelRegistry) {
  return (c: Context<AppEnv>): Response => {
    if (models.state === "loading") throw models.notReady();
    const created = models.models[0]?.created ?? Math.floor(Date.now() / 1000);
    const createdOf = new Map<string, number>();
    for (const m of models.models) for (const name of [m.id, ...m.aliases]) createdOf.set(name, m.created);
    const list: ModelList = {
      object: "list",
      data: models.names.map((id) => ({
        id,
        object: "model",
        created: id === AUTO_MODEL ? created : (createdOf.get(id) ?? created),
        owned_by: "gearbox",
      })),
    };
    return c.json(list);
  };
}
