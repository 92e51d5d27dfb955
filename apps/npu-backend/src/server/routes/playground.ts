/**
 * GET /playground: the same browser chat page the edge serves (@gearbox/playground), for a backend
 * used on its own (`gearbox serve --open`, or with --api-key: the page has a key field). Behind the
 * edge it is harmless: a static page that can do nothing without a signature the browser lacks.
 */
import { PLAYGROUND_HEADERS, PLAYGROUND_HTML } from "@gearbox/playground";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";

export function playgroundRoute(c: Context<AppEnv>): Response {
  return c.body(PLAYGROUND_HTML, 200, { ...PLAYGROUND_HEADERS });
}
