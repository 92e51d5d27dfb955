/**
 * Our quantizers against ggml's own reference quantizers, byte for byte: a small C program linked
 * against the libggml-base.so that node-llama-cpp ships (the same ggml that loads our files) encodes
 * the same inputs. Needs a C compiler and the linux-x64 prebuilt binaries; skipped (visibly) without.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GgmlTypeInfo, ggmlTypeByName } from "../src/ggml-types.js";
import { quantize } from "../src/quant/codec.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const LIB_DIR = join(REPO_ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");

function hasCompiler(): boolean {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const available =
  process.platform === "linux" &&
  process.arch === "x64" &&
  existsSync(join(LIB_DIR, "libggml-base.so")) &&
  hasCompiler();

const HARNESS = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void quantize_row_q8_0_ref(const float *, void *, int64_t);
void quantize_row_q4_0_ref(const float *, void *, int64_t);
void quantize_row_q4_K_ref(const float *, void *, int64_t);
void quantize_row_q6_K_ref(const float *, void *, int64_t);
void ggml_fp32_to_fp16_row(const float *, uint16_t *, int64_t);
void ggml_fp32_to_bf16_row_ref(const float *, uint16_t *, int64_t);
/* usage: ref TYPE N < N floats > bytes */
int main(int argc, char ** argv) {
  if (argc != 3) return 1;
  const char * t = argv[1];
  long n = atol(argv[2]);
  float * x = malloc(n * sizeof(float));
  void * y = malloc(n * sizeof(float));
  if (fread(x, sizeof(float), n, stdin) != (size_t) n) return 2;
  size_t bytes;
  if (!strcmp(t, "Q8_0")) { quantize_row_q8_0_ref(x, y, n); bytes = n / 32 * 34; }
  else if (!strcmp(t, "Q4_0")) { quantize_row_q4_0_ref(x, y, n); bytes = n / 32 * 18; }
  else if (!strcmp(t, "Q4_K")) { quantize_row_q4_K_ref(x, y, n); bytes = n / 256 * 144; }
  else if (!strcmp(t, "Q6_K")) { quantize_row_q6_K_ref(x, y, n); bytes = n / 256 * 210; }
  else if (!strcmp(t, "F16")) { ggml_fp32_to_fp16_row(x, y, n); bytes = n * 2; }
  else if (!strcmp(t, "BF16")) { ggml_fp32_to_bf16_row_ref(x, y, n); bytes = n * 2; }
  else return 3;
  fwrite(y, 1, bytes, stdout);
  return 0;
}
`;

/** Inputs that exercise the quantizers' corners: ties, zeros, outliers, tiny and huge scales. */
function inputs(n: number): Record<string, Float32Array> {
  let s = 2024;
  const u = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const make = (f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return {
    uniform: make(() => (u() - 0.5) * 2),
    "heavy tails": make(() => Math.tan((u() - 0.5) * 3.1) * 0.01),
    "sparse and shifted": make(() => (u() < 0.7 ? 0 : (u() - 0.3) * 1e-3)),
    "exact ties": make(() => Math.round((u() - 0.5) * 20) / 4),
    "wide dynamic range": make(() => (u() - 0.5) * 10 ** (Math.floor(u() * 20) - 12)),
    "all positive": make(() => u() * 3 + 1),
    "constant blocks": make((i) => Math.floor(i / 32) * 0.37 - 5),
  };
}

describe.skipIf(!available)("quantizers match ggml's reference quantizers byte for byte", () => {
  let dir: string;
  let exe: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ggml-ref-"));
    await writeFile(join(dir, "ref.c"), HARNESS);
    exe = join(dir, "ref");
    execFileSync("cc", [
      "-O2",
      "-o",
      exe,
      join(dir, "ref.c"),
      `-L${LIB_DIR}`,
      "-l:libggml-base.so",
      `-Wl,-rpath,${LIB_DIR}`,
    ]);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const name of ["F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]) {
    it(name, () => {
      const t = ggmlTypeByName(name) as GgmlTypeInfo;
      for (const [kind, x] of Object.entries(inputs(256 * 48))) {
        const ref = spawnSync(exe, [name, String(x.length)], {
          input: Buffer.from(x.buffer),
          maxBuffer: 1 << 26,
        });
        expect(ref.status, `${name} ${kind}: ${ref.stderr}`).toBe(0);
        const ours = Buffer.from(quantize(t, x));
        // Compare as buffers: a mismatch reports the first differing byte, not 50k lines.
        expect(
          ours.equals(ref.stdout),
          `${name} ${kind}: first difference at byte ${ours.findIndex((b, i) => b !== ref.stdout[i])}`,
        ).toBe(true);
      }
    });
  }
});
