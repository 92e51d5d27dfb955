/**
 * GET /health: 200 {"status":"ok"} once every model is loaded and its gears are warm, 503 with
 * "loading" before and "draining" during shutdown. The edge balances on `running + waiting` and
 * prefers backends whose `models` list the requested name.
 */
import type { Context } from "hono";
import type { ModelRegistry } from "../../models/model-registry.js";
import type { AppEnv } from "../app-env.js";

export function healthRoute(models: ModelRegistry) {
  return (c: Context<AppEnv>): Response => {
    const status = models.state === "ready" ? "ok" : models.state;
    return c.json({ status, models: models.names, ...models.activity }, models.state === "ready" ? 200 : 503);
  };
}
