/**
 * GET /playground: the browser chat page (@gearbox/playground, built into the worker's bundle), and
 * GET / sends browsers there. The page is public, like any sign-in page: it holds no secret, and
 * it asks for an API key before it can do anything.
 */
import { PLAYGROUND_HEADERS, PLAYGROUND_HTML } from "@gearbox/playground";
import type { Handler } from "hono";
import type { EdgeEnv } from "../env.js";

export const PLAYGROUND_PATH = "/playground";

export const playgroundHandler: Handler<EdgeEnv> = (c) =>
  c.body(PLAYGROUND_HTML, 200, { ...PLAYGROUND_HEADERS });

export const rootHandler: Handler<EdgeEnv> = (c) => c.redirect(PLAYGROUND_PATH, 302);
