import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The report command itself, end to end on tiny models (`npm run report -- --quick`): a real
 * `gearbox serve` with both models and auto routing, the three shape modes, the routing set, the
 * Markdown and the charts. Checks the report's form, never its speeds.
 */
const out = mkdtempSync(join(tmpdir(), "gearbox-report-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run report -- --quick", () => {
  it("writes the table, the shape and routing sections, and PNG charts", { timeout: 600_000 }, async () => {
    const child = spawn(process.execPath, ["bench/run-ts.mjs", "bench/report.ts", "--quick", "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b;
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b;
    });
    const [code] = await once(child, "exit");
    expect(code, stderr).toBe(0);
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(stdout.trim()).toBe(md.trim());
    // The table in the form, beside the published figures.
    for (const n of [16, 64, 256])
      expect(md).toMatch(new RegExp(`^\\| ${n} +\\| +\\d+ / \\d+ \\| +\\d+ / \\d+ \\|`, "m"));
    expect(md).toContain("Ascend 910, MindSpore 2.0 (published)");
    expect(md).toMatch(/\| peak memory .*\| +[\d.]+ GB \|/);
    expect(md).toMatch(/\| requests\/s at 256 tokens .*\| +[\d.]+ \|/);
    for (const mode of ["gears (real rows)", "padded buckets", "exact plan per request"])
      expect(md).toContain(`| ${mode}`);
    expect(md).toMatch(/\| all +\| +220 \|/);
    const json = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      serving: { rows: { id: string; routedOk: boolean }[] };
      shapes: { modes: { mode: string; paddedTokens: number; fallbacks: number }[] };
    };
    // Every request was answered by the model its language routes to.
    expect(json.serving.rows.map((r) => [r.id, r.routedOk])).toEqual([
      ["tiny-en", true],
      ["tiny-zh", true],
    ]);
    const [real, padded, exact] = json.shapes.modes;
    expect(real?.paddedTokens).toBe(0);
    expect(padded?.paddedTokens).toBeGreaterThan(0);
    expect(exact?.paddedTokens).toBe(0);
    expect(exact?.fallbacks).toBe(0);
    for (const png of ["latency.png", "memory.png"]) {
      const file = join(out, png);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file).subarray(1, 4).toString()).toBe("PNG");
      expect(md).toContain(`](${png})`);
    }
  });
});
