/** The per-request values the middlewares set for the routes. */
import type { Logger } from "pino";

export interface AppEnv {
  Variables: {
    /** From `x-request-id` (the edge's) or made here; echoed on the response. */
    requestId: string;
    /** The app's logger bound to this request's id. */
    log: Logger;
  };
}
