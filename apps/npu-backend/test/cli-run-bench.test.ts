/**
 * `gearbox run --json` and `gearbox bench --json` as a user runs them (the built CLI in a child
 * process): their output shapes are contracts (README, "The CLI").
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureModel, REPO_ROOT } from "./support/models.js";

const CLI = join(REPO_ROOT, "apps", "local", "bin", "gearbox.js");
let model: string;

function gearbox(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  model = await ensureModel("tiny", "q8_0");
});

describe("gearbox run", () => {
  it("--json prints one object; greedy is deterministic; --prompt-tokens are fed as given", () => {
    const a = gearbox(
      "run",
      "--model",
      model,
      "--prompt",
      "Hello, world",
      "--temperature",
      "0",
      "--max-tokens",
      "8",
      "--json",
    );
    expect(a.code, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout);
    expect(Object.keys(out).sort()).toEqual(["prompt_tokens", "text", "timings", "tokens"]);
    expect(Object.keys(out.timings).sort()).toEqual(["gen_ms", "load_ms", "prompt_ms"]);
    expect(out.tokens).toHaveLength(8);
    expect(out.prompt_tokens).toBe(4); // <|begin_of_text|> Hello , world
    expect(typeof out.text).toBe("string");
    const b = JSON.parse(
      gearbox(
        "run",
        "--model",
        model,
        "--prompt",
        "Hello, world",
        "--temperature",
        "0",
        "--max-tokens",
        "8",
        "--json",
      ).stdout,
    );
    expect(b.tokens).toEqual(out.tokens);
    const c = JSON.parse(
      gearbox(
        "run",
        "--model",
        model,
        "--prompt-tokens",
        "128000,9906,11,1917",
        "--temperature",
        "0",
        "--max-tokens",
        "8",
        "--json",
      ).stdout,
    );
    expect(c.tokens).toEqual(out.tokens);
    expect(c.prompt_tokens).toBe(4);
  });

  it("--chat renders the chat template with one BOS; a seed makes sampling reproducible", () => {
    const chat = JSON.parse(
      gearbox(
        "run",
        "--model",
        model,
        "--prompt",
        "你好",
        "--chat",
        "--max-tokens",
        "4",
        "--seed",
        "7",
        "--json",
      ).stdout,
    );
    expect(chat.prompt_tokens).toBeGreaterThan(20); // system header with the dates + user turn + assistant header
    const again = JSON.parse(
      gearbox(
        "run",
        "--model",
        model,
        "--prompt",
        "你好",
        "--chat",
        "--max-tokens",
        "4",
        "--seed",
        "7",
        "--json",
      ).stdout,
    );
    expect(again.tokens).toEqual(chat.tokens);
  });

  it("reports usage errors with exit code 2", () => {
    const r = gearbox("run", "--model", model);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exactly one of --prompt and --prompt-tokens/);
    const bad = gearbox("run", "--model", model, "--prompt-tokens", "1,x");
    expect(bad.code).toBe(2);
    const missing = gearbox("run", "--model", join(REPO_ROOT, "nope.gguf"), "--prompt", "x");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.gguf/);
  });
});

describe("gearbox bench", () => {
  it("--json reports prefill and decode rows, load time and peak RSS", () => {
    const r = gearbox(
      "bench",
      "--model",
      model,
      "--prompt-lengths",
      "16,32",
      "--batch",
      "1,2",
      "--gen",
      "4",
      "--repeat",
      "1",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe(model);
    expect(out.threads).toBeGreaterThan(0);
    expect(out.load_ms).toBeGreaterThan(0);
    expect(out.peak_rss_bytes).toBeGreaterThan(10_000_000);
    expect(out.prefill.map((p: { prompt_tokens: number }) => p.prompt_tokens)).toEqual([16, 32]);
    for (const p of out.prefill) expect(p.tokens_per_s).toBeGreaterThan(0);
    expect(out.decode.map((d: { batch: number }) => d.batch)).toEqual([1, 2]);
  });
});
