/**
 * The standalone replicas in bench/ (programs of their own, outside the addon's build, each behind a
 * docs/BENCHMARKS.md section) must keep compiling with the command their headers document:
 * stream-replica.cc (the decode's weight stream) and q8-tile-replica.cc (the AVX2 Q8_0 prefill
 * tile's integer core). x86-64 only (their kernels are AVX2 and AVX-VNNI intrinsics).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bench = join(fileURLToPath(new URL("..", import.meta.url)), "bench");

describe.each(["stream-replica.cc", "q8-tile-replica.cc"])("bench/%s", (name) => {
  const source = join(bench, name);

  it("documents its build command in its header", () => {
    expect(readFileSync(source, "utf8")).toContain(`g++ -O2 -std=c++17 -Wno-psabi`);
    expect(readFileSync(source, "utf8")).toContain(`bench/${name} -o /tmp/`);
  });

  it.skipIf(process.arch !== "x64")("compiles with that command", () => {
    const r = spawnSync(
      "g++",
      ["-O2", "-std=c++17", "-Wno-psabi", "-pthread", "-Wall", "-Werror", "-fsyntax-only", source],
      {
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
