/** What a scheduler reports as it works; metrics/ implements it with Prometheus series. */
import type { FinishReason } from "./generation.js";

export type RequestOutcome = FinishReason | "error" | "cancelled";

export interface SchedulerMetrics {
  /** A request left the queue: how long it waited, its prompt, the part found in the prefix cache. */
  requestAdmitted(queueSeconds: number, promptTokens: number, cachedTokens: number): void;
  /** The first token of a request, seconds after it arrived. */
  firstToken(seconds: number): void;
  /** Seconds between two tokens of one choice. */
  interToken(seconds: number): void;
  tokensGenerated(count: number): void;
  requestFinished(seconds: number, outcome: RequestOutcome): void;
  /** One engine step: its decode and prefill tokens and how long it took. */
  stepRan(decodeTokens: number, prefillTokens: number, seconds: number): void;
}

export const noSchedulerMetrics: SchedulerMetrics = {
  requestAdmitted() {},
  firstToken() {},
  interToken() {},
  tokensGenerated() {},
  requestFinished() {},
  stepRan() {},
};
