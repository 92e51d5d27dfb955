/**
 * The scheduler on the real engine (tiny model), watching the steps it issues: prefill chunked
 * within the token budget and mixed with decode tokens, new requests joining at the next step,
 * n > 1 choices sharing the prompt's KV blocks, and KV admission that waits instead of failing.
 */
import { ApiError } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  defaultSampling,
  type EngineModel,
  type SamplingParams,
  type StepItem,
} from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { CoreArbiter } from "../src/scheduler/core-arbiter.js";
import type { FinishReason, GenerationObserver } from "../src/scheduler/generation.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { ensureModel } from "./support/models.js";

const EOS = -999; // the tiny model's random weights rarely pick an end token; none counts here
const CLOSED = new ApiError(503, "server_error", "closed", "closed");
let engine: EngineModel;
let smallCache: EngineModel;

beforeAll(async () => {
  const path = await ensureModel("tiny", "q8_0");
  const gears = { prefill: [16, 64], decodeBatch: [1, 4, 16], warm: "all" as const };
  engine = await nativeEngine.loadModel(path, { threads: 1, contextLength: 1024, kvCacheMiB: 8, gears });
  // 1 MiB of KV: 32 blocks of 16 tokens.
  smallCache = await nativeEngine.loadModel(path, { threads: 1, contextLength: 1024, kvCacheMiB: 1, gears });
});
afterAll(async () => {
  await engine?.close();
  await smallCache?.close();
});

/** Delegates to the real model, recording every step's items and the KV state after it. */
function watched(model: EngineModel) {
  const steps: { items: StepItem[]; blocksUsed: number }[] = [];
  const spy: EngineModel = {
    info: model.info,
    device: model.device,
    kvReservation: (promptTokens, maxNewTokens, n) => model.kvReservation(promptTokens, maxNewTokens, n),
    createSequence: (params, prompt) => model.createSequence(params, prompt),
    forkSequence: (seq, params) => model.forkSequence(seq, params),
    freeSequence: (seq) => model.freeSequence(seq),
    step: async (items) => {
      const results = await model.step(items);
      steps.push({
        items: items.map((i) => ({ ...i, tokens: [...i.tokens] })),
        blocksUsed: model.kvStats().blocksUsed,
      });
      return results;
    },
    kvStats: () => model.kvStats(),
    gearReport: () => model.gearReport(),
    profile: () => model.profile(),
    close: () => model.close(),
  };
  return { spy, steps };
}

function scheduler(model: EngineModel, stepTokens = 64, arbiter = new CoreArbiter()) {
  return new Scheduler({
    model,
    isEndOfGeneration: (t) => t === EOS,
    maxQueue: 8,
    maxRunningSequences: 16,
    stepTokens,
    arbiter,
  });
}

interface Outcome {
  tokens: number[][];
  finish: (FinishReason | undefined)[];
  error?: ApiError;
  done: Promise<void>;
  /** Resolves at the first token. */
  started: Promise<void>;
}

function request(s: Scheduler, prompt: number[], maxNewTokens: number, n = 1, seed = 1) {
  let resolveDone: () => void = () => {};
  let resolveStarted: () => void = () => {};
  const outcome: Outcome = {
    tokens: Array.from({ length: n }, () => []),
    finish: Array.from({ length: n }, () => undefined),
    done: new Promise((r) => {
      resolveDone = r;
    }),
    started: new Promise((r) => {
      resolveStarted = r;
    }),
  };
  const observer: GenerationObserver = {
    onToken(choice, sampled) {
      outcome.tokens[choice]?.push(sampled.token);
      resolveStarted();
      return false;
    },
    onFinish(choice, reason) {
      outcome.finish[choice] = reason;
      if (outcome.finish.every((f) => f !== undefined)) resolveDone();
    },
    onError(error) {
      outcome.error = error;
      resolveDone();
    },
  };
  const sampling: SamplingParams[] = Array.from({ length: n }, (_, i) => ({
    ...defaultSampling,
    temperature: 1,
    seed: seed + i,
  }));
  const handle = s.submit({
    promptTokens: prompt,
    n,
    maxNewTokens,
    sampling,
    deadline: performance.now() + 60_000,
    observer,
  });
  return { outcome, handle };
}

const prompt = (length: number, offset = 1000) => [
  128000,
  ...Array.from({ length: length - 1 }, (_, i) => offset + i),
];

describe("continuous batching on the engine", () => {
  it("chunks a long prefill within the budget while a running stream keeps decoding", async () => {
    const { spy, steps } = watched(engine);
    const s = scheduler(spy, 64);
    const running = request(s, prompt(10), 40);
    await running.outcome.started;
    const long = request(s, prompt(300, 2000), 4);
    await Promise.all([running.outcome.done, long.outcome.done]);
    await s.close(CLOSED);

    for (const step of steps)
      expect(step.items.reduce((n, i) => n + i.tokens.length, 0)).toBeLessThanOrEqual(64);
    const longSeq = steps
      .find((st) => st.items.some((i) => i.tokens.length > 1 && i.tokens[1] === 2000))
      ?.items.find((i) => i.tokens.length > 1)?.seq;
    const prefillSteps = steps.filter((st) => st.items.some((i) => i.seq === longSeq && i.tokens.length > 1));
    // 300 prompt tokens in chunks of at most 63 (one token of the budget goes to the decoding stream).
    expect(prefillSteps.length).toBeGreaterThanOrEqual(5);
    for (const st of prefillSteps) {
      const decode = st.items.filter((i) => i.seq !== longSeq);
      expect(decode).toHaveLength(1);
      expect(decode[0]?.tokens).toHaveLength(1);
      // Decode tokens go first in the step.
      expect(st.items[0]?.seq).not.toBe(longSeq);
    }
    expect(
      prefillSteps
        .map((st) => st.items.find((i) => i.seq === longSeq)?.tokens.length)
        .reduce((a, b) => (a ?? 0) + (b ?? 0), 0),
    ).toBe(300);
    expect(running.outcome.tokens[0]).toHaveLength(40);
    expect(long.outcome.finish).toEqual(["length"]);
  });

  it("lets a new request join the running batch at the next step", async () => {
    const { spy, steps } = watched(engine);
    const s = scheduler(spy, 64);
    const first = request(s, prompt(8), 30);
    await first.outcome.started;
    const stepsBefore = steps.length;
    const second = request(s, prompt(8, 5000), 5);
    await second.outcome.done;
    // The second request was computed while the first was still generating.
    expect(first.outcome.finish[0]).toBeUndefined();
    const joined = steps.slice(stepsBefore).findIndex((st) => st.items.length === 2);
    expect(joined).toBeGreaterThanOrEqual(0);
    expect(joined).toBeLessThanOrEqual(1);
    await first.outcome.done;
    await s.close(CLOSED);
  });

  it("shares the prompt's KV blocks between n choices", async () => {
    const { spy, steps } = watched(engine);
    const s = scheduler(spy, 64);
    const before = engine.kvStats().blocksUsed;
    const many = request(s, prompt(200, 7000), 3, 4);
    await many.outcome.done;
    await s.close(CLOSED);
    expect(many.outcome.tokens.map((t) => t.length)).toEqual([3, 3, 3, 3]);
    // The first step after the fork samples all four choices from the last prompt token.
    const fork = steps.find((st) => st.items.length === 4);
    expect(fork?.items.every((i) => i.sample && i.tokens.length === 1 && i.tokens[0] === 7000 + 198)).toBe(
      true,
    );
    // 200 prompt tokens are 13 blocks; four copies would be 52. Shared: 12 full blocks + one partial each.
    const peak = Math.max(...steps.map((st) => st.blocksUsed)) - before;
    expect(peak).toBeLessThanOrEqual(12 + 4 + 1);
    expect(new Set(many.outcome.tokens.map((t) => t.join(","))).size).toBeGreaterThan(1);
  });

  it("admits by KV reservation: a request that does not fit waits, then runs", async () => {
    const { spy, steps } = watched(smallCache);
    const s = scheduler(spy, 64);
    // Each needs 300 + 20 tokens = 20 blocks; the cache has 32.
    const a = request(s, prompt(300, 100), 20);
    const b = request(s, prompt(300, 20_000), 20);
    await Promise.all([a.outcome.done, b.outcome.done]);
    await s.close(CLOSED);
    expect(a.outcome.error).toBeUndefined();
    expect(b.outcome.error).toBeUndefined();
    expect(b.outcome.tokens[0]).toHaveLength(20);
    // Never both in one step, and the cache never overflowed.
    for (const st of steps) expect(st.items.length).toBe(1);
    expect(Math.max(...steps.map((st) => st.blocksUsed))).toBeLessThanOrEqual(32);
  });

  it("shares the cores between two busy models by taking turns step by step", async () => {
    const order: string[] = [];
    const tag = (name: string, model: EngineModel): EngineModel => ({
      ...watched(model).spy,
      step: async (items) => {
        order.push(name);
        return model.step(items);
      },
    });
    const arbiter = new CoreArbiter();
    const a = scheduler(tag("a", engine), 64, arbiter);
    const b = scheduler(tag("b", smallCache), 64, arbiter);
    const runA = request(a, prompt(8), 20);
    const runB = request(b, prompt(8, 9000), 20);
    await Promise.all([runA.outcome.done, runB.outcome.done]);
    await Promise.all([a.close(CLOSED), b.close(CLOSED)]);
    // Both ran 20 steps; while both had work, neither took two turns in a row.
    expect(order.filter((x) => x === "a")).toHaveLength(20);
    expect(order.filter((x) => x === "b")).toHaveLength(20);
    const lastA = order.lastIndexOf("a");
    const lastB = order.lastIndexOf("b");
    const both = order.slice(1, Math.min(lastA, lastB));
    both.forEach((x, i) => {
      if (i > 0) expect(x).not.toBe(both[i - 1]);
    });
  });

  it("a cancel while the step waits for the other model's turn affects no other request", async () => {
    // Model a plans a step, then waits in the shared arbiter while b runs; a request of a is cancelled
    // right then. Its sequence must not be freed before a's step is sent (the engine would refuse
    // the step with "unknown sequence" and fail every request in it).
    const errors: unknown[] = [];
    let bSteps = 0;
    let cancelVictim: (() => void) | undefined;
    const b: EngineModel = {
      ...watched(smallCache).spy,
      step: async (items) => {
        bSteps++;
        if (bSteps === 5 && cancelVictim) {
          // Let a's loop plan its next step and queue behind this turn, then cancel.
          for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
          cancelVictim();
        }
        return smallCache.step(items);
      },
    };
    const arbiter = new CoreArbiter();
    const onEngineError = (e: unknown) => errors.push(e);
    const sa = new Scheduler({
      model: engine,
      isEndOfGeneration: (t) => t === EOS,
      maxQueue: 8,
      maxRunningSequences: 16,
      stepTokens: 64,
      arbiter,
      onEngineError,
    });
    const sb = new Scheduler({
      model: b,
      isEndOfGeneration: (t) => t === EOS,
      maxQueue: 8,
      maxRunningSequences: 16,
      stepTokens: 64,
      arbiter,
      onEngineError,
    });
    const victim = request(sa, prompt(8), 30);
    const other = request(sa, prompt(8, 3000), 30, 2);
    cancelVictim = () => victim.handle.cancel();
    const busyB = request(sb, prompt(8, 9000), 30);
    await Promise.all([other.outcome.done, busyB.outcome.done]);
    await Promise.all([sa.close(CLOSED), sb.close(CLOSED)]);
    expect(bSteps).toBeGreaterThan(5);
    expect(errors).toEqual([]);
    expect(other.outcome.error).toBeUndefined();
    expect(other.outcome.tokens.map((t) => t.length)).toEqual([30, 30]);
    expect(busyB.outcome.error).toBeUndefined();
    expect(victim.outcome.error).toBeUndefined();
    expect(victim.outcome.tokens[0]?.length).toBeLessThan(30);
    expect(engine.kvStats().sequences).toBe(0);
  });

  it("refuses a request larger than the whole cache at once", () => {
    const s = scheduler(smallCache, 64);
    expect(() => request(s, prompt(600), 100)).toThrow(/cache holds 512/);
    void s.close(CLOSED);
  });
});
