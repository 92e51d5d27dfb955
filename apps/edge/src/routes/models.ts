/** GET /v1/models: the union of what the available backends serve, as far as the key may use it. */
import { type Model, modelListSchema, serverOverloaded } from "@gearbox/shared";
import type { Handler } from "hono";
import { type EdgeDeps, HEALTH_PROBE_TIMEOUT_MS } from "../deps.js";
import type { EdgeEnv } from "../env.js";
import { errorMessage } from "../upstream/health.js";
import type { Upstream } from "../upstream/pool.js";
import { signedFetch } from "../upstream/signed-fetch.js";

export function modelsHandler(deps: EdgeDeps): Handler<EdgeEnv> {
  return async (c) => {
    const lists = await Promise.all(deps.pool.available().map((upstream) => listModels(deps, upstream)));
    const answered = lists.filter((list) => list !== undefined);
    if (answered.length === 0) {
      throw serverOverloaded(deps.pool.retryAfterSeconds(), "No backend is available. Please retry later.");
    }
    const allowed = c.get("apiKey").models;
    const byId = new Map<string, Model>();
    for (const model of answered.flat()) {
      if (!byId.has(model.id) && (allowed === null || allowed.includes(model.id))) byId.set(model.id, model);
    }
    return c.json({ object: "list", data: [...byId.values()] });
  };
}

async function listModels(deps: EdgeDeps, upstream: Upstream): Promise<Model[] | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), HEALTH_PROBE_TIMEOUT_MS);
  try {
    const response = await signedFetch(upstream.url, deps.config.upstreamSecret, {
      method: "GET",
      path: "/v1/models",
      signal: controller.signal,
    });
    const list = modelListSchema.safeParse(await response.json());
    if (!response.ok || !list.success) throw new Error(`/v1/models answered ${response.status}`);
    return list.data.data;
  } catch (error) {
    deps.pool.reportFailure(upstream, errorMessage(error));
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
