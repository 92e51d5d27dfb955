export * from "./body-limit.js";
export * from "./chat.js";
export * from "./completions.js";
export * from "./digest.js";
export * from "./errors.js";
export * from "./keys.js";
export * from "./long-runs.js";
export * from "./models.js";
export {
  type FinishReason,
  finishReasonSchema,
  type StreamOptions,
  type Usage,
  usageSchema,
} from "./params.js";
export * from "./signing.js";
export * from "./sse.js";
export * from "./validation.js";
