/**
 * Scheduler corner cases that the real engine cannot be made to produce on demand, on a scripted
 * engine: a failing step, a request cancelled while its sequence is being created, deadlines,
 * shutdown, an observer that throws, and a wake-up arriving while the loop is busy.
 */
import { ApiError } from "@gearbox/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type CreateSequenceResult,
  defaultSampling,
  type EngineModel,
  type ForwardProfile,
  type GearReport,
  type KvStats,
  type LateMasks,
  type ModelInfo,
  type StepItem,
  type StepResult,
} from "../src/engine/engine.js";
import { CoreArbiter } from "../src/scheduler/core-arbiter.js";
import type { GenerationObserver, TokenConstraint } from "../src/scheduler/generation.js";
import { Scheduler } from "../src/scheduler/scheduler.js";

/** Samples token 42 for every item that asks; fails or stalls when told to. */
class ScriptedEngine implements EngineModel {
  readonly info = { vocabSize: 100, contextLength: 1024 } as ModelInfo;
  readonly device = { backend: "scripted", isa: "none", threads: 1 };
  readonly live = new Set<number>();
  readonly freed: number[] = [];
  steps = 0;
  failNextStep = false;
  /** While set, createSequence waits for it. */
  createGate: Promise<void> | undefined;
  private nextSeq = 1;

  async createSequence(): Promise<CreateSequenceResult> {
    await this.createGate;
    const seq = this.nextSeq++;
    this.live.add(seq);
    return { seq, cachedTokens: 0 };
  }
  /** Forks that succeed before every further one fails (undefined: all succeed). */
  forksBeforeFailure: number | undefined;
  async forkSequence(): Promise<number> {
    if (this.forksBeforeFailure !== undefined && this.forksBeforeFailure-- <= 0) {
      throw new Error("kv cache full: no block for the fork");
    }
    const seq = this.nextSeq++;
    this.live.add(seq);
    return seq;
  }
  async freeSequence(seq: number): Promise<void> {
    this.live.delete(seq);
    this.freed.push(seq);
  }
  /** Masks seen by the last step (given late, while it "runs"). */
  lastMasks: ReadonlyArray<Int32Array | undefined> = [];
  async step(items: readonly StepItem[], lateMasks?: LateMasks): Promise<StepResult[]> {
    this.steps++;
    this.lastMasks = lateMasks ? await lateMasks() : [];
    if (this.failNextStep) {
      this.failNextStep = false;
      throw new Error("kv cache full: this step needs 3 more blocks, 0 are free");
    }
    for (const item of items) if (!this.live.has(item.seq)) throw new Error(`unknown sequence ${item.seq}`);
    return items.map((i) => ({ seq: i.seq, token: i.sample ? 42 : -1 }));
  }
  kvStats(): KvStats {
    return { blockSize: 16, blocksTotal: 64, blocksUsed: 0, blocksCached: 0, sequences: this.live.size };
  }
  /** A plain worst case (no sharing between choices): these tests never fill the cache. */
  kvReservation(promptTokens: number, maxNewTokens: number, n: number): number {
    return n * Math.ceil((promptTokens + maxNewTokens) / 16);
  }
  gearReport(): GearReport {
    return { gears: [], fallbacks: 0, observed: { prefill: {}, decode: {} }, cacheStatus: "", warmupMs: 0 };
  }
  profile(): ForwardProfile {
    return { enabled: false, passes: 0, stageMs: {} };
  }
  async close(): Promise<void> {}
}

const CLOSED = new ApiError(503, "server_error", "server_overloaded", "closed for the test");

function setup(options: { maxQueue?: number } = {}) {
  const engine = new ScriptedEngine();
  const errors: unknown[] = [];
  const scheduler = new Scheduler({
    model: engine,
    isEndOfGeneration: () => false,
    maxQueue: options.maxQueue ?? 8,
    maxRunningSequences: 4,
    stepTokens: 32,
    arbiter: new CoreArbiter(),
    onEngineError: (e) => errors.push(e),
  });
  return { engine, scheduler, errors };
}

interface Run {
  tokens: number;
  finished: string[];
  error: ApiError | undefined;
  settled: Promise<void>;
}

function submit(
  scheduler: Scheduler,
  options: {
    maxNewTokens?: number;
    deadlineMs?: number;
    onToken?: () => boolean;
    constraint?: TokenConstraint;
    promptTokens?: number[];
    n?: number;
  } = {},
) {
  let settle: () => void = () => {};
  const run: Run = {
    tokens: 0,
    finished: [],
    error: undefined,
    settled: new Promise((r) => {
      settle = r;
    }),
  };
  const observer: GenerationObserver = {
    onToken: () => {
      run.tokens++;
      return options.onToken?.() ?? false;
    },
    onFinish: (_, reason) => {
      run.finished.push(reason);
      settle();
    },
    onError: (error) => {
      run.error = error;
      settle();
    },
  };
  const handle = scheduler.submit({
    promptTokens: options.promptTokens ?? [1, 2, 3],
    n: options.n ?? 1,
    maxNewTokens: options.maxNewTokens ?? 3,
    sampling: Array.from({ length: options.n ?? 1 }, () => defaultSampling),
    ...(options.constraint ? { constraints: [options.constraint] } : {}),
    deadline: performance.now() + (options.deadlineMs ?? 60_000),
    observer,
  });
  return { run, handle };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("scheduler corner cases", () => {
  it("a constraint gets its masks computed with the step, follows every token, and failing fails only its request", async () => {
    const { engine, scheduler } = setup();
    const accepted: number[] = [];
    let disposed = 0;
    const mask = new Int32Array(4).fill(-1);
    const good: TokenConstraint = {
      nextMask: async () => mask,
      accept: (t) => {
        accepted.push(t);
        return true;
      },
      dispose: () => disposed++,
    };
    const bad: TokenConstraint = {
      nextMask: async () => undefined,
      accept: () => false,
      dispose: () => disposed++,
    };
    const ok = submit(scheduler, { constraint: good });
    const failing = submit(scheduler, { constraint: bad });
    const plain = submit(scheduler);
    await Promise.all([ok.run.settled, failing.run.settled, plain.run.settled]);
    expect(ok.run.finished).toEqual(["length"]);
    expect(accepted).toEqual([42, 42, 42]);
    expect(engine.lastMasks).toContain(mask);
    expect(failing.run.error?.status).toBe(500);
    expect(plain.run.finished).toEqual(["length"]);
    expect(disposed).toBe(2);
    await scheduler.close(CLOSED);
  });

  it("a fork that fails frees the choices already forked, and fails only its request", async () => {
    const { engine, scheduler, errors } = setup();
    engine.forksBeforeFailure = 1; // of 3 choices: the second forks, the third fails
    const forked = submit(scheduler, { n: 3 });
    const other = submit(scheduler);
    await Promise.all([forked.run.settled, other.run.settled]);
    expect(forked.run.error?.status).toBe(500);
    expect(other.run.finished).toEqual(["length"]);
    expect(errors).toHaveLength(1);
    await scheduler.close(CLOSED);
    expect(engine.live.size).toBe(0);
  });

  it("refuses an empty prompt (nothing to continue from) instead of holding a slot until its deadline", async () => {
    const { scheduler } = setup();
    expect(() => submit(scheduler, { promptTokens: [] })).toThrow(
      expect.objectContaining({ status: 400, param: "prompt" }),
    );
    await scheduler.close(CLOSED);
  });

  it("fails only the requests of a failing step, with a 500, and keeps going", async () => {
    const { engine, scheduler, errors } = setup();
    engine.failNextStep = true;
    const first = submit(scheduler);
    await first.run.settled;
    expect(first.run.error).toMatchObject({ status: 500, code: "internal_error" });
    expect(errors).toHaveLength(1);
    expect(engine.live.size).toBe(0);
    const second = submit(scheduler);
    await second.run.settled;
    expect(second.run).toMatchObject({ tokens: 3, finished: ["length"], error: undefined });
    await scheduler.close(CLOSED);
  });

  it("frees a sequence created for a request cancelled meanwhile, and never calls its observer", async () => {
    const { engine, scheduler } = setup();
    let open: () => void = () => {};
    engine.createGate = new Promise((r) => {
      open = r;
    });
    const { run, handle } = submit(scheduler);
    await new Promise((r) => setTimeout(r, 10)); // the loop is now waiting in createSequence
    handle.cancel();
    engine.createGate = undefined;
    open();
    await vi.waitFor(() => expect(engine.freed).toHaveLength(1));
    expect(engine.live.size).toBe(0);
    expect(run).toMatchObject({ tokens: 0, finished: [], error: undefined });
    expect(scheduler.runningRequests + scheduler.waitingRequests).toBe(0);
    await scheduler.close(CLOSED);
  });

  it("ends a request whose deadline passed while it waited, with a 503", async () => {
    const { engine, scheduler } = setup();
    let open: () => void = () => {};
    engine.createGate = new Promise((r) => {
      open = r;
    });
    const blocker = submit(scheduler);
    await new Promise((r) => setTimeout(r, 5)); // the loop now waits in the blocker's createSequence
    const late = submit(scheduler, { deadlineMs: 5 });
    await new Promise((r) => setTimeout(r, 20));
    engine.createGate = undefined;
    open();
    await late.run.settled;
    expect(late.run.error).toMatchObject({ status: 503, code: "server_overloaded" });
    expect(late.run.error?.message).toContain("waited");
    await blocker.run.settled;
    expect(blocker.run.finished).toEqual(["length"]);
    await scheduler.close(CLOSED);
  });

  it("refuses a request beyond the queue limit", async () => {
    const { engine, scheduler } = setup({ maxQueue: 1 });
    engine.createGate = new Promise(() => {}); // never admitted
    submit(scheduler);
    await new Promise((r) => setTimeout(r, 5)); // the first left the queue for createSequence
    submit(scheduler);
    expect(() => submit(scheduler)).toThrow(
      expect.objectContaining({ status: 503, code: "server_overloaded" }),
    );
  });

  it("fails running and waiting requests on close, and refuses new ones", async () => {
    const { scheduler } = setup();
    const runs = [submit(scheduler, { maxNewTokens: 1000 }), submit(scheduler, { maxNewTokens: 1000 })];
    await scheduler.close(CLOSED);
    for (const { run } of runs) expect(run.error).toBe(CLOSED);
    expect(() => submit(scheduler)).toThrow(expect.objectContaining({ status: 503 }));
  });

  it("fails a request whose observer throws, and frees it", async () => {
    const { engine, scheduler, errors } = setup();
    const { run } = submit(scheduler, {
      onToken: () => {
        throw new Error("observer bug");
      },
    });
    await run.settled;
    expect(run.error).toMatchObject({ status: 500 });
    expect(errors).toHaveLength(1);
    expect(engine.live.size).toBe(0);
    await scheduler.close(CLOSED);
  });

  it("does not lose a wake-up that arrives while the loop is busy", async () => {
    // With timers frozen, a lost wake-up would leave the request waiting for the loop's fallback
    // timer forever; the submit right after construction lands while the loop is starting up.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { scheduler } = setup();
    const { run } = submit(scheduler);
    await run.settled;
    expect(run.finished).toEqual(["length"]);
    await scheduler.close(CLOSED);
  });
});
