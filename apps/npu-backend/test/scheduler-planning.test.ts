/**
 * The scheduler's pure parts: step planning, the queue, the cross-model arbiter. (KV reservations
 * are the engine's rule: engine-batching.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { CoreArbiter } from "../src/scheduler/core-arbiter.js";
import { FcfsQueue } from "../src/scheduler/request-queue.js";
import { planStep } from "../src/scheduler/step-planner.js";

describe("planStep", () => {
  it("gives every decoding sequence its token before any prefill", () => {
    // A long prompt arrived first, then two sequences are decoding.
    expect(planStep([300, 1, 1], 64)).toEqual([62, 1, 1]);
  });

  it("chunks prefill in arrival order within the budget", () => {
    expect(planStep([40, 40, 40], 64)).toEqual([40, 24, 0]);
    expect(planStep([10, 1, 100], 64)).toEqual([10, 1, 53]);
  });

  it("leaves decoders beyond the budget for the next step", () => {
    expect(planStep([1, 1, 1], 2)).toEqual([1, 1, 0]);
  });

  it("allocates nothing to sequences with nothing left", () => {
    expect(planStep([0, 5], 8)).toEqual([0, 5]);
  });
});

describe("FcfsQueue", () => {
  it("serves in arrival order and removes from the middle", () => {
    const q = new FcfsQueue<string>();
    for (const s of ["a", "b", "c"]) q.push(s);
    expect(q.remove("b")).toBe(true);
    expect(q.remove("x")).toBe(false);
    expect(q.peek()).toBe("a");
    expect([...q]).toEqual(["a", "c"]);
    expect(q.shift()).toBe("a");
    expect(q.size).toBe(1);
  });
});

describe("CoreArbiter", () => {
  it("runs turns one at a time in the order asked, even when one fails", async () => {
    const arbiter = new CoreArbiter();
    const log: string[] = [];
    let running = 0;
    const turn = (name: string, ms: number, fail = false) =>
      arbiter.run(async () => {
        running++;
        expect(running).toBe(1);
        log.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}:end`);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([turn("a", 20), turn("b", 1, true), turn("c", 5)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(log).toEqual(["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
  });
});
