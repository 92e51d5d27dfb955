/**
 * One HTTP request's generation: its prompts submitted to the model's scheduler, and the sampled
 * tokens of every choice turned into text events (detokenized, stop strings applied) on one
 * channel that the response — streamed or not — consumes. The channel ends after the last choice
 * finishes, after an error, or when the request is cancelled.
 */
import type { ApiError } from "@gearbox/shared";
import type { SamplingParams } from "../../engine/engine.js";
import type { ServedModel } from "../../models/served-model.js";
import type {
  FinishReason,
  GenerationHandle,
  GenerationObserver,
  TokenConstraint,
} from "../../scheduler/generation.js";
import { ChoiceText, type EmittedToken } from "./choice-text.js";
import { EventChannel } from "./event-channel.js";

export type GenerationEvent =
  | { kind: "text"; choice: number; text: string; tokens: EmittedToken[] }
  | { kind: "finish"; choice: number; reason: FinishReason; completionTokens: number }
  | { kind: "error"; error: ApiError };

/** One prompt and its `n` choices. */
export interface GenerationJob {
  promptTokens: readonly number[];
  /** Index of the job's first choice in the response (prompt i of a batch starts at i * n). */
  firstChoice: number;
  maxNewTokens: number;
  /** One per choice. */
  sampling: readonly SamplingParams[];
  /** One per choice when the output is constrained (structured output, tool calls). */
  constraints?: readonly TokenConstraint[];
}

export interface GenerationOptions {
  stops: readonly string[];
  /** performance.now() after which the request ends with an error. */
  deadline: number;
}

export class Generation {
  readonly events = new EventChannel<GenerationEvent>();
  private readonly handles: GenerationHandle[] = [];
  private unfinished: number;
  private ended = false;
  private sampled = 0;

  /** Submits every job; a job the scheduler refuses (queue full, too large) cancels the others and throws. */
  constructor(model: ServedModel, jobs: readonly GenerationJob[], options: GenerationOptions) {
    this.unfinished = jobs.reduce((sum, job) => sum + job.sampling.length, 0);
    let submitted = 0;
    try {
      for (const job of jobs) {
        this.handles.push(
          model.scheduler.submit({
            promptTokens: job.promptTokens,
            n: job.sampling.length,
            maxNewTokens: job.maxNewTokens,
            sampling: job.sampling,
            ...(job.constraints ? { constraints: job.constraints } : {}),
            deadline: options.deadline,
            observer: this.observer(model, job, options.stops),
          }),
        );
        submitted++;
      }
    } catch (error) {
      // The scheduler disposes the constraints of what it took; the rest are ours to free.
      for (const job of jobs.slice(submitted)) for (const c of job.constraints ?? []) c.dispose();
      this.cancel();
      throw error;
    }
  }

  /** Tokens sampled so far over every choice (what the request has cost, even if cancelled now). */
  get sampledTokens(): number {
    return this.sampled;
  }

  /** Stops every choice now (the client went away) and frees its KV blocks; the channel ends. */
  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    for (const handle of this.handles) handle.cancel();
    this.events.close();
  }

  private observer(model: ServedModel, job: GenerationJob, stops: readonly string[]): GenerationObserver {
    const texts = job.sampling.map(() => new ChoiceText(model.tokenizer.streamDecoder(), stops));
    const text = (i: number) => texts[i] as ChoiceText;
    const reported = job.sampling.map(() => 0);
    return {
      onToken: (i, sampled) => {
        this.sampled++;
        reported[i] = (reported[i] as number) + 1;
        const delta = text(i).push(sampled);
        if (delta.text !== "" || delta.tokens.length > 0) {
          this.events.push({ kind: "text", choice: job.firstChoice + i, ...delta });
        }
        return text(i).stoppedByString;
      },
      onFinish: (i, reason, completionTokens) => {
        // End-of-generation tokens are not reported by onToken; completionTokens counts them.
        this.sampled += Math.max(0, completionTokens - (reported[i] as number));
        const delta = text(i).finish();
        if (delta.text !== "" || delta.tokens.length > 0) {
          this.events.push({ kind: "text", choice: job.firstChoice + i, ...delta });
        }
        this.events.push({ kind: "finish", choice: job.firstChoice + i, reason, completionTokens });
        if (--this.unfinished === 0) {
          this.ended = true;
          this.events.close();
        }
      },
      onError: (error) => {
        if (this.ended) return;
        this.events.push({ kind: "error", error });
        this.cancel();
      },
    };
  }
}
