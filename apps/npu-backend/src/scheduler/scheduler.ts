/**
 * Continuous batching for one model. Requests wait in a queue (first come, first served); each
 * loop turn admits what fits (sequence slots and KV blocks), plans one engine step — decode tokens
 * of running sequences first, prefill chunks of new ones in the remaining token budget — runs it,
 * and hands the sampled tokens to the requests' observers. A request that arrives while a step runs
 * joins at the next one; one that finishes or is cancelled frees its KV blocks at once.
 *
 * Every engine call of a model is issued from here, so engine state and scheduler state never
 * disagree: the engine runs calls in order on its own thread, hence a sequence freed while a step
 * is running is freed right after that step, and the next step (planned after) no longer has it.
 */
import { type ApiError, internalError, invalidRequest, serverOverloaded } from "@gearbox/shared";
import type { EngineModel, SamplingParams, StepItem, StepResult } from "../engine/engine.js";
import type { CoreArbiter } from "./core-arbiter.js";
import type {
  FinishReason,
  GenerationHandle,
  GenerationRequest,
  SampledToken,
  TokenConstraint,
} from "./generation.js";
import { FcfsQueue, type RequestQueue } from "./request-queue.js";
import { noSchedulerMetrics, type RequestOutcome, type SchedulerMetrics } from "./scheduler-metrics.js";
import { planStep } from "./step-planner.js";

export interface SchedulerOptions {
  model: EngineModel;
  /** End-of-generation tokens (EOS, EOT) finish a choice with "stop". */
  isEndOfGeneration(token: number): boolean;
  /** Requests allowed to wait; one more gets 503 server_overloaded. */
  maxQueue: number;
  /** Sequences running at once (the largest decode gear). */
  maxRunningSequences: number;
  /** Tokens per engine step. */
  stepTokens: number;
  /** Shared by the models of one process so that their steps take turns on the cores. */
  arbiter: CoreArbiter;
  metrics?: SchedulerMetrics;
  /** Called with an engine failure (the requests of the step get a 500). */
  onEngineError?: (error: unknown) => void;
}

/** One choice's sequence: tokens known (prompt + sampled) versus tokens whose KV is computed. */
class SequenceState {
  /** Engine sequence id; -1 until created. */
  seq = -1;
  computed = 0;
  generated = 0;
  finished = false;
  lastTokenAt = 0;

  constructor(
    readonly choice: number,
    readonly tokens: number[],
    readonly constraint: TokenConstraint | undefined,
  ) {}
}

type Phase = "waiting" | "running" | "done";

class RequestState {
  phase: Phase = "waiting";
  readonly arrivedAt = performance.now();
  firstTokenAt = 0;
  readonly choices: SequenceState[];
  /** Choices 1..n-1 are forked from choice 0 once it has computed all but the last prompt token. */
  forked: boolean;
  constructor(
    readonly request: GenerationRequest,
    readonly blocks: number,
  ) {
    this.choices = Array.from(
      { length: request.n },
      (_, i) => new SequenceState(i, [...request.promptTokens], request.constraints?.[i]),
    );
    this.forked = request.n === 1;
  }

  sampling(choice: number): SamplingParams {
    return this.request.sampling[choice] as SamplingParams;
  }

  get promptLength(): number {
    return this.request.promptTokens.length;
  }

  /** Where a choice's computation stops for now: before forking, the shared part of the prompt. */
  target(s: SequenceState): number {
    return this.forked ? s.tokens.length : this.promptLength - 1;
  }
}

interface PlannedItem {
  state: RequestState;
  sequence: SequenceState;
  tokens: number;
  sample: boolean;
}

export class Scheduler {
  private readonly queue: RequestQueue<RequestState> = new FcfsQueue();
  private readonly running: RequestState[] = [];
  private readonly metrics: SchedulerMetrics;
  private readonly blockSize: number;
  private readonly blocksTotal: number;
  private reservedBlocks = 0;
  private runningSequences = 0;
  private wake: (() => void) | undefined;
  private wokenWhileBusy = false;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /**
   * Set from planning a step until it is handed to the engine. Between the two the loop may wait
   * for the shared CoreArbiter (another model's step); a sequence freed then would be freed before
   * the step that names it, and the engine would refuse the whole step. Frees wait here instead.
   */
  private stepPending = false;
  private deferredFrees: number[] = [];
  /** Frees sent to the engine and not yet done: close() waits for them (KV state settled). */
  private readonly freesInFlight = new Set<Promise<void>>();
  private readonly loopDone: Promise<void>;

  constructor(private readonly options: SchedulerOptions) {
    this.metrics = options.metrics ?? noSchedulerMetrics;
    const kv = options.model.kvStats();
    this.blockSize = kv.blockSize;
    this.blocksTotal = kv.blocksTotal;
    this.loopDone = this.loop();
  }

  /** Requests generating (admitted, not finished). */
  get runningRequests(): number {
    return this.running.length;
  }

  get waitingRequests(): number {
    return this.queue.size;
  }

  /** KV blocks promised to admitted requests (their worst case). */
  get kvBlocksReserved(): number {
    return this.reservedBlocks;
  }

  /**
   * Queues a request. Throws a 503 ApiError when the queue is full, a 400 when the request could
   * never be admitted (more choices or KV blocks than the model has).
   */
  submit(request: GenerationRequest): GenerationHandle {
    if (this.closed) throw serverOverloaded(1, "The server is shutting down.");
    if (request.sampling.length !== request.n) throw new Error("one SamplingParams per choice is required");
    if (request.promptTokens.length === 0) {
      // A sequence needs a token to continue from (an empty text prompt of a model without BOS).
      throw invalidRequest("The prompt is empty: there is no token to continue from.", "prompt");
    }
    if (request.n > this.options.maxRunningSequences) {
      throw invalidRequest(`n must be at most ${this.options.maxRunningSequences} on this server.`, "n");
    }
    // The engine owns the reservation rule (its worst case for this request); admission below
    // only compares it with what is unreserved.
    const blocks = this.options.model.kvReservation(
      request.promptTokens.length,
      request.maxNewTokens,
      request.n,
    );
    if (blocks > this.blocksTotal) {
      throw invalidRequest(
        `This request needs up to ${blocks * this.blockSize} tokens of KV cache (prompt and max_tokens for ` +
          `${request.n} choice(s)) but the model's cache holds ${this.blocksTotal * this.blockSize}. ` +
          "Lower max_tokens or n.",
        "max_tokens",
      );
    }
    if (this.queue.size >= this.options.maxQueue) {
      throw serverOverloaded(
        1,
        `The server is overloaded: ${this.queue.size} requests are waiting. Please retry after a short wait.`,
      );
    }
    const state = new RequestState(request, blocks);
    this.queue.push(state);
    this.wakeUp();
    return { cancel: () => this.cancel(state) };
  }

  /** Resolves when no request is running or waiting. */
  whenIdle(): Promise<void> {
    if (this.running.length === 0 && this.queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails every request with `error` and stops the loop; later submits get 503. */
  async close(error: ApiError): Promise<void> {
    this.closed = true;
    for (const state of [...this.queue, ...this.running]) this.fail(state, error);
    this.wakeUp();
    await this.loopDone;
    this.flushDeferredFrees();
    await Promise.all([...this.freesInFlight]);
  }

  // ---------------------------------------------------------------- the loop

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.expireDeadlines();
      await this.admit();
      await this.forkReady();
      const plan = this.plan();
      if (plan.length === 0) {
        // Nothing runs (whatever waits fits once admitted): sleep until a request comes.
        await this.sleep();
        continue;
      }
      const items: StepItem[] = plan.map((p) => ({
        seq: p.sequence.seq,
        tokens: p.sequence.tokens.slice(p.sequence.computed, p.sequence.computed + p.tokens),
        sample: p.sample,
      }));
      const lateMasks = this.lateMasks(plan);
      const started = performance.now();
      let results: StepResult[];
      this.stepPending = true;
      try {
        results = await this.options.arbiter.run(() => {
          const step = this.options.model.step(items, lateMasks);
          // The engine runs its calls in order: frees issued now run after this step.
          this.flushDeferredFrees();
          return step;
        });
      } catch (error) {
        this.flushDeferredFrees();
        this.options.onEngineError?.(error);
        const failed = new Set(plan.map((p) => p.state));
        for (const state of failed) this.fail(state, internalError("The engine failed while generating."));
        continue;
      }
      let decodeTokens = 0;
      let prefillTokens = 0;
      for (const p of plan) {
        if (p.tokens === 1 && p.sequence.computed >= p.state.promptLength) decodeTokens++;
        else prefillTokens += p.tokens;
      }
      this.metrics.stepRan(decodeTokens, prefillTokens, (performance.now() - started) / 1000);
      this.apply(plan, results);
    }
  }

  /**
   * The grammar masks of the step's constrained samples, computed on this thread while the engine
   * thread runs the step's forward pass (the engine waits for them only to sample).
   */
  private lateMasks(plan: readonly PlannedItem[]): (() => Promise<(Int32Array | undefined)[]>) | undefined {
    if (!plan.some((p) => p.sample && p.sequence.constraint)) return undefined;
    return () =>
      Promise.all(
        plan.map((p) => (p.sample && p.sequence.constraint ? p.sequence.constraint.nextMask() : undefined)),
      );
  }

  private sleep(): Promise<void> {
    // A wake-up that came while the loop was busy (between its look at the queue and now) counts.
    if (this.wokenWhileBusy) {
      this.wokenWhileBusy = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = resolve;
      // Deadlines of waiting requests still need checking while nothing runs.
      const timer = setTimeout(resolve, 1000);
      timer.unref();
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.wokenWhileBusy = true;
  }

  /** Moves requests from the queue to running while sequence slots and KV blocks allow. */
  private async admit(): Promise<void> {
    const admitted: RequestState[] = [];
    for (;;) {
      const next = this.queue.peek();
      if (!next) break;
      if (this.runningSequences + next.request.n > this.options.maxRunningSequences) break;
      if (this.reservedBlocks + next.blocks > this.blocksTotal) break;
      this.queue.shift();
      next.phase = "running";
      this.running.push(next);
      this.runningSequences += next.request.n;
      this.reservedBlocks += next.blocks;
      admitted.push(next);
    }
    if (admitted.length === 0) return;
    await Promise.all(
      admitted.map(async (state) => {
        const first = state.choices[0] as SequenceState;
        try {
          const created = await this.options.model.createSequence(
            state.sampling(0),
            state.request.promptTokens,
          );
          if (state.phase === "done") {
            this.freeSequence(created.seq);
            return;
          }
          first.seq = created.seq;
          first.computed = created.cachedTokens;
          this.metrics.requestAdmitted(
            (performance.now() - state.arrivedAt) / 1000,
            state.promptLength,
            created.cachedTokens,
          );
        } catch (error) {
          this.options.onEngineError?.(error);
          this.fail(state, internalError("The engine could not start the request."));
        }
      }),
    );
  }

  /** Forks the choices of requests whose shared prompt part is computed. */
  private async forkReady(): Promise<void> {
    const ready = this.running.filter(
      (s) => !s.forked && (s.choices[0] as SequenceState).computed >= s.promptLength - 1,
    );
    await Promise.all(
      ready.map(async (state) => {
        const parent = state.choices[0] as SequenceState;
        state.forked = true;
        try {
          const forks = await Promise.allSettled(
            state.choices
              .slice(1)
              .map((c) => this.options.model.forkSequence(parent.seq, state.sampling(c.choice))),
          );
          const failed = forks.find((f) => f.status === "rejected");
          if (failed) {
            // The forks that did succeed belong to no choice yet: free them, or they leak.
            for (const f of forks) if (f.status === "fulfilled") this.freeSequence(f.value);
            throw failed.reason;
          }
          const seqs = forks.map((f) => (f as PromiseFulfilledResult<number>).value);
          seqs.forEach((seq, i) => {
            const child = state.choices[i + 1] as SequenceState;
            if (state.phase === "done") this.freeSequence(seq);
            else {
              child.seq = seq;
              child.computed = parent.computed;
            }
          });
        } catch (error) {
          this.options.onEngineError?.(error);
          this.fail(state, internalError("The engine could not fork the request's choices."));
        }
      }),
    );
  }

  private plan(): PlannedItem[] {
    const candidates: { state: RequestState; sequence: SequenceState; remaining: number }[] = [];
    for (const state of this.running) {
      for (const sequence of state.choices) {
        if (sequence.finished || sequence.seq < 0) continue;
        const remaining = state.target(sequence) - sequence.computed;
        if (remaining > 0) candidates.push({ state, sequence, remaining });
      }
    }
    const take = planStep(
      candidates.map((c) => c.remaining),
      this.options.stepTokens,
    );
    const plan: PlannedItem[] = [];
    candidates.forEach((c, i) => {
      const tokens = take[i] ?? 0;
      if (tokens === 0) return;
      plan.push({
        state: c.state,
        sequence: c.sequence,
        tokens,
        sample: c.state.forked && tokens === c.remaining,
      });
    });
    return plan;
  }

  private apply(plan: readonly PlannedItem[], results: readonly StepResult[]): void {
    const now = performance.now();
    plan.forEach((p, i) => {
      const { state, sequence } = p;
      if (state.phase !== "running" || sequence.finished) return; // cancelled meanwhile
      sequence.computed += p.tokens;
      const result = results[i];
      if (!p.sample || !result || result.token < 0) return;
      this.accept(state, sequence, result, now);
    });
  }

  /** A sampled token: end of generation, a stop string (the observer says), the length limit, or more. */
  private accept(state: RequestState, sequence: SequenceState, result: StepResult, now: number): void {
    sequence.generated++;
    this.metrics.tokensGenerated(1);
    if (state.firstTokenAt === 0) {
      state.firstTokenAt = now;
      this.metrics.firstToken((now - state.arrivedAt) / 1000);
    }
    if (sequence.lastTokenAt > 0) this.metrics.interToken((now - sequence.lastTokenAt) / 1000);
    sequence.lastTokenAt = now;

    if (sequence.constraint && !sequence.constraint.accept(result.token)) {
      this.fail(state, internalError("The server's grammar failed on this request."));
      return;
    }
    if (this.options.isEndOfGeneration(result.token)) {
      this.finishChoice(state, sequence, "stop");
      return;
    }
    sequence.tokens.push(result.token);
    const sampled: SampledToken = { token: result.token };
    if (result.logprob !== undefined) sampled.logprob = result.logprob;
    if (result.topLogprobs) sampled.topLogprobs = result.topLogprobs;
    let stopped: boolean;
    try {
      stopped = state.request.observer.onToken(sequence.choice, sampled);
    } catch (error) {
      this.options.onEngineError?.(error);
      this.fail(state, internalError("The server failed while producing the answer."));
      return;
    }
    if (state.phase !== "running") return; // the observer cancelled the request
    if (stopped) this.finishChoice(state, sequence, "stop");
    else if (sequence.generated >= state.request.maxNewTokens) this.finishChoice(state, sequence, "length");
  }

  private finishChoice(state: RequestState, sequence: SequenceState, reason: FinishReason): void {
    sequence.finished = true;
    sequence.constraint?.dispose();
    this.freeSequence(sequence.seq);
    sequence.seq = -1;
    state.request.observer.onFinish(sequence.choice, reason, sequence.generated);
    if (state.choices.every((c) => c.finished)) this.retire(state, reason);
  }

  private expireDeadlines(): void {
    const now = performance.now();
    for (const state of [...this.queue, ...this.running]) {
      if (now > state.request.deadline) {
        const waited = ((now - state.arrivedAt) / 1000).toFixed(0);
        this.fail(
          state,
          serverOverloaded(
            1,
            state.phase === "waiting"
              ? `The request waited ${waited} s in the queue and reached its deadline.`
              : `The request did not finish within its deadline (${waited} s).`,
          ),
        );
      }
    }
  }

  private cancel(state: RequestState): void {
    if (state.phase === "done") return;
    this.retire(state, "cancelled");
  }

  private fail(state: RequestState, error: ApiError): void {
    if (state.phase === "done") return;
    this.retire(state, "error");
    state.request.observer.onError(error);
  }

  /** Takes a request out of the queue or the running set and frees whatever it holds. */
  private retire(state: RequestState, outcome: RequestOutcome): void {
    // Finished choices disposed theirs in finishChoice.
    for (const sequence of state.choices) if (!sequence.finished) sequence.constraint?.dispose();
    if (state.phase === "waiting") this.queue.remove(state);
    if (state.phase === "running") {
      this.running.splice(this.running.indexOf(state), 1);
      this.runningSequences -= state.request.n;
      this.reservedBlocks -= state.blocks;
      for (const sequence of state.choices) {
        if (sequence.seq >= 0) this.freeSequence(sequence.seq);
        sequence.seq = -1;
        sequence.finished = true;
      }
    }
    state.phase = "done";
    this.metrics.requestFinished((performance.now() - state.arrivedAt) / 1000, outcome);
    this.wakeUp();
    if (this.running.length === 0 && this.queue.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private flushDeferredFrees(): void {
    this.stepPending = false;
    for (const seq of this.deferredFrees.splice(0)) this.freeSequence(seq);
  }

  private freeSequence(seq: number): void {
    if (seq < 0) return;
    if (this.stepPending) {
      this.deferredFrees.push(seq);
      return;
    }
    const done = this.options.model
      .freeSequence(seq)
      .catch((error: unknown) => this.options.onEngineError?.(error))
      .finally(() => this.freesInFlight.delete(done));
    this.freesInFlight.add(done);
  }
}
