/**
 * The aarch64 NEON kernels against the plain reference, under emulation. native/scripts/kernel-sweep.sh
 * builds native/test/kernel_sweep.cc (the kernels alone, no addon) with Debian's cross compiler and
 * runs it under qemu-aarch64 user-mode emulation twice: `-cpu max` (has the dot-product extension,
 * so the neon-dotprod set must be selected) and `-cpu cortex-a53` (plain ARMv8-A: neon), plus
 * GEARBOX_ISA=neon forcing the plain set on the dotprod CPU. The sweep also builds natively and checks
 * this machine's sets (portable, AVX2, AVX-512 where present).
 *
 * Needs g++-aarch64-linux-gnu and qemu-user (apt packages; .ci/run installs both). Without them the
 * aarch64 part is skipped, and says so.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = join(fileURLToPath(new URL("..", import.meta.url)), "native", "scripts", "kernel-sweep.sh");
const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const hasCross = has("aarch64-linux-gnu-g++");
const hasQemu = has("qemu-aarch64");
const missing = [hasCross ? "" : "aarch64-linux-gnu-g++", hasQemu ? "" : "qemu-aarch64"].filter(Boolean);
const aarch64Title = missing.length
  ? `NEON kernel sweep under qemu-aarch64 (SKIPPED: ${missing.join(" and ")} not installed)`
  : "NEON and NEON+dotprod kernels match the reference under qemu-aarch64 (max and cortex-a53 CPUs)";

function sweep(which: string) {
  const r = spawnSync("bash", [script, which], { encoding: "utf8", timeout: 420_000 });
  return { out: `${r.stdout}\n${r.stderr}`, status: r.status };
}

describe("kernel sweep (standalone C++, every kernel set vs the reference)", () => {
  it.skipIf(!hasCross || !hasQemu)(
    aarch64Title,
    () => {
      const { out, status } = sweep("aarch64");
      // Each emulated CPU selected the set it must, and every sweep passed.
      expect(out).toMatch(/selected: neon-dotprod \(attention neon\)\n/);
      expect(out).toMatch(/== aarch64 qemu -cpu max, expect neon-dotprod: passed/);
      expect(out).toMatch(/== aarch64 qemu -cpu cortex-a53, expect neon: passed/);
      expect(out).toMatch(/== aarch64 qemu -cpu max, GEARBOX_ISA=neon: passed/);
      expect(out).toMatch(
        /kernel-sweep: OK: \d+ checks passed, sets: portable neon neon-dotprod \(selected neon-dotprod\)/,
      );
      expect(out).toMatch(/kernel-sweep: OK: \d+ checks passed, sets: portable neon \(selected neon\)/);
      expect(out, out).toMatch(/kernel-sweep: all sweeps passed/);
      expect(status).toBe(0);
    },
    450_000,
  );

  it.skipIf(!has("g++"))(
    `the same sweep natively on ${process.arch} (every set this CPU offers)`,
    () => {
      const { out, status } = sweep("native");
      expect(out, out).toMatch(/kernel-sweep: all sweeps passed/);
      if (process.arch === "x64") expect(out).toMatch(/sets: portable avx2/);
      expect(status).toBe(0);
    },
    300_000,
  );
});
