/** What the two completion routes need from the app. */
import type { ModelRegistry } from "../../models/model-registry.js";

export interface CompletionRouteDeps {
  models: ModelRegistry;
  limits: {
    /** max_tokens when a request gives none. */
    maxTokensDefault: number;
    /** n x prompts per request. */
    maxChoicesPerRequest: number;
    /** Characters per stop string. */
    maxStopLength: number;
    requestTimeoutSeconds: number;
    pingIntervalSeconds: number;
  };
  /** Log prompts and answers at debug level. */
  logPrompts: boolean;
}
