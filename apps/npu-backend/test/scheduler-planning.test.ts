/** The scheduler's pure parts: step planning, KV reservations, the queue, the cross-model arbiter. */
import { describe, expect, it } from "vitest";
import { CoreArbiter } from "../src/scheduler/core-arbiter.js";
import { blocksFor, reservationBlocks } from "../src/scheduler/kv-reservation.js";
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

describe("KV reservations", () => {
  it("rounds tokens up to blocks", () => {
    expect(blocksFor(16, 16)).toBe(1);
    expect(blocksFor(17, 16)).toBe(2);
  });

  it("reserves prompt + max_tokens for one choice", () => {
    expect(reservationBlocks(20, 30, 1, 16)).toBe(4); // 50 tokens
  });

  it("counts the prompt's full blocks once for forked choices", () => {
    // 40-token prompt: choices fork after 39 tokens, whose 2 full blocks stay shared.
    // Each choice may reach 40 + 24 = 64 tokens = 4 blocks; the 2 others need 4 - 2 each.
    expect(reservationBlocks(40, 24, 3, 16)).toBe(4 + 2 * 2);
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
