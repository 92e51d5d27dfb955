/**
 * The engine must build on aarch64 (the CPUs of Ascend hosts). native/scripts/check-aarch64.sh
 * compiles and links every source with Debian's cross compiler. Where that compiler is not
 * installed (it is an apt package, g++-aarch64-linux-gnu; .ci/run installs it), the test is skipped
 * and says so.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = join(fileURLToPath(new URL("..", import.meta.url)), "native", "scripts", "check-aarch64.sh");
const hasCompiler = spawnSync("sh", ["-c", "command -v aarch64-linux-gnu-g++"]).status === 0;

describe("aarch64 build", () => {
  it.skipIf(!hasCompiler)(
    "every engine source compiles and links for aarch64",
    () => {
      const r = spawnSync("bash", [script], { encoding: "utf8", timeout: 300_000 });
      expect(r.stderr + r.stdout).toMatch(/all \d+ sources compile and link for aarch64/);
      expect(r.status).toBe(0);
    },
    300_000,
  );
});
