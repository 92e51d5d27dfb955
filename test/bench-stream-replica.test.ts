/**
 * bench/stream-replica.cc (the standalone decode-stream replica behind a docs/BENCHMARKS.md section)
 * is a program of its own, outside the addon's build: it must keep compiling with the documented
 * command. x86-64 only (its tiles are AVX2 and AVX-VNNI intrinsics).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const source = join(fileURLToPath(new URL("..", import.meta.url)), "bench", "stream-replica.cc");

describe("bench/stream-replica.cc", () => {
  it.skipIf(process.arch !== "x64")("compiles with the command its header documents", () => {
    const r = spawnSync(
      "g++",
      ["-O2", "-std=c++17", "-Wno-psabi", "-Wall", "-Werror", "-fsyntax-only", source],
      {
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
