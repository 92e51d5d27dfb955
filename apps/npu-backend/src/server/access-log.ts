/**
 * Request ids and the access log. The id comes from `x-request-id` when the edge (or a client) sent
 * a sane one, else it is made here; it is echoed on the response and on every log line of the
 * request. One line per request, when its response starts (a stream logs its end separately).
 * Bodies are never logged here.
 */
import type { MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import type { AppEnv } from "./app-env.js";

export function requestContext(logger: Logger): MiddlewareHandler<AppEnv>[] {
  return [
    requestId({ headerName: "x-request-id", limitLength: 128 }),
    async (c, next) => {
      const log = logger.child({ request_id: c.var.requestId });
      c.set("log", log);
      const started = performance.now();
      await next();
      log.info(
        {
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        "request",
      );
    },
  ];
}
