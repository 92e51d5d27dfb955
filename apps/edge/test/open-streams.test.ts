/** Settling streams whose client left: quiet ones to their last reported usage, each settlement replacing the last. */
import { describe, expect, it } from "vitest";
import { OpenStreams } from "../src/limits/open-streams.js";

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("OpenStreams", () => {
  it("settles a stream quiet for staleMs to its last reported usage, once", async () => {
    const time = clock();
    const streams = new OpenStreams(1000, time.now);
    const settled: number[] = [];
    const stream = streams.track(async (used) => void settled.push(used), 20);
    stream.touch({ promptTokens: 20, completionTokens: 5 });
    time.advance(999);
    await streams.sweep();
    expect(settled).toEqual([]);
    time.advance(1);
    await streams.sweep();
    await streams.sweep();
    expect(settled).toEqual([25]);
    expect(streams.size).toBe(0);
  });

  it("charges the prompt for a stream that reported nothing, and leaves a closed one alone", async () => {
    const time = clock();
    const streams = new OpenStreams(1000, time.now);
    const settled: number[] = [];
    streams.track(async (used) => void settled.push(used), 12);
    const closed = streams.track(async (used) => void settled.push(used), 99);
    closed.close();
    time.advance(5000);
    await streams.sweep();
    expect(settled).toEqual([12]);
  });

  it("tracks again a stream that moves after it was settled (its end settles it for real)", async () => {
    const time = clock();
    const streams = new OpenStreams(1000, time.now);
    const settled: number[] = [];
    const stream = streams.track(async (used) => void settled.push(used), 10);
    time.advance(2000);
    await streams.sweep();
    stream.touch({ promptTokens: 10, completionTokens: 40 });
    expect(streams.size).toBe(1);
    stream.close();
    expect(streams.size).toBe(0);
    expect(settled).toEqual([10]);
  });
});
