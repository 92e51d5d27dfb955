/** The configuration file: defaults, errors naming the field, env secrets, paths, and the security checks. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfigFile, resolveConfig, singleModelConfig } from "../src/config/load-config.js";
import { checkServingSecurity, isLoopbackHost } from "../src/config/serving-security.js";

const NO_ENV = {};

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveConfig", () => {
  it("fills every default from a file that lists only models", () => {
    const config = resolveConfig(
      { models: [{ id: "m", path: "models/m.gguf" }] },
      "f.json",
      "/srv/gearbox",
      NO_ENV,
    );
    expect(config.models).toEqual([
      { id: "m", path: "/srv/gearbox/models/m.gguf", languages: [], aliases: [] },
    ]);
    expect(config.router).toEqual({ auto: true });
    expect(config.engine).toEqual({ threads: 0, contextLength: 8192, kvCacheMiB: 1024 });
    expect(config.gears).toEqual({
      prefill: [16, 32, 64, 128, 256, 512],
      decodeBatch: [1, 2, 4, 8, 16],
      warm: "all",
      cacheDir: "/srv/gearbox/.gearbox/plans",
    });
    expect(config.limits).toMatchObject({ maxQueue: 256, maxTokensDefault: 512, stepTokens: 512 });
    expect(config.auth).toEqual({ upstreamSecret: undefined, apiKeys: [], open: false });
    expect(config.server).toEqual({ host: "127.0.0.1", port: 8080 });
  });

  it("names the field of every mistake", () => {
    expect(errorOf(() => resolveConfig({}, "f.json", "/", NO_ENV))).toMatch(/^f\.json: models: /);
    expect(errorOf(() => resolveConfig({ models: [{ id: "m" }] }, "f.json", "/", NO_ENV))).toContain(
      "models[0].path",
    );
    expect(
      errorOf(() =>
        resolveConfig({ models: [{ id: "m", path: "p" }], limits: { maxQueeu: 3 } }, "f.json", "/", NO_ENV),
      ),
    ).toMatch(/limits: .*maxQueeu/);
    expect(
      errorOf(() =>
        resolveConfig({ models: [{ id: "m", path: "p" }], gears: { prefill: [64, 16] } }, "f", "/", NO_ENV),
      ),
    ).toContain("gears.prefill: must be strictly increasing");
    expect(
      errorOf(() =>
        resolveConfig({ models: [{ id: "m", path: "p" }], router: { default: "x" } }, "f", "/", NO_ENV),
      ),
    ).toContain("router.default: 'x' is not the id of a configured model");
    expect(
      errorOf(() =>
        resolveConfig(
          {
            models: [
              { id: "m", path: "p", aliases: ["a"] },
              { id: "a", path: "q" },
            ],
          },
          "f",
          "/",
          NO_ENV,
        ),
      ),
    ).toContain("the name 'a' is used twice");
    expect(errorOf(() => resolveConfig({ models: [{ id: "auto", path: "p" }] }, "f", "/", NO_ENV))).toContain(
      "models[0].id: 'auto' is reserved",
    );
  });

  it("reads env: secrets, and the edge's variable when no secret is configured", () => {
    const models = [{ id: "m", path: "p" }];
    const env = { MY_SECRET: "s".repeat(20), GEARBOX_UPSTREAM_SECRET: "e".repeat(20), KEY1: "k1" };
    const explicit = resolveConfig(
      { models, auth: { upstreamSecret: "env:MY_SECRET", apiKeys: ["env:KEY1", "inline"] } },
      "f",
      "/",
      env,
    );
    expect(explicit.auth).toEqual({ upstreamSecret: "s".repeat(20), apiKeys: ["k1", "inline"], open: false });
    expect(resolveConfig({ models }, "f", "/", env).auth.upstreamSecret).toBe("e".repeat(20));
    expect(errorOf(() => resolveConfig({ models, auth: { upstreamSecret: "env:NOPE" } }, "f", "/", {}))).toBe(
      "f: auth.upstreamSecret: the environment variable NOPE is not set",
    );
  });

  it("reads a file and reports bad JSON with the file's name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gearbox-config-"));
    const good = join(dir, "gearbox.config.json");
    await writeFile(
      good,
      JSON.stringify({ models: [{ id: "m", path: "m.gguf" }], limits: { stepTokens: 32 } }),
    );
    const config = await readConfigFile(good, NO_ENV);
    expect(config.models[0]?.path).toBe(join(dir, "m.gguf"));
    expect(config.limits.stepTokens).toBe(32);
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{ models: [");
    await expect(readConfigFile(bad, NO_ENV)).rejects.toThrow(`${bad}: not valid JSON`);
    await expect(readConfigFile(join(dir, "missing.json"), NO_ENV)).rejects.toThrow(
      "cannot read the config file",
    );
  });

  it("makes a one-model configuration for --model", () => {
    expect(singleModelConfig("/models/Llama-3.2-1B-Q8_0.gguf")).toEqual({
      models: [{ id: "Llama-3.2-1B-Q8_0", path: "/models/Llama-3.2-1B-Q8_0.gguf" }],
    });
    expect(singleModelConfig("m.gguf", "llama-3.2-1b-en").models[0]?.id).toBe("llama-3.2-1b-en");
  });
});

describe("checkServingSecurity", () => {
  const base = (auth: object, host = "127.0.0.1") =>
    resolveConfig({ models: [{ id: "m", path: "p" }], auth, server: { host } }, "f", "/", NO_ENV);

  it("refuses a backend nobody could call", () => {
    expect(errorOf(() => checkServingSecurity(base({})))).toContain("nobody could call this backend");
  });

  it("allows open mode on loopback only (unless API keys guard it)", () => {
    expect(() => checkServingSecurity(base({ open: true }))).not.toThrow();
    expect(errorOf(() => checkServingSecurity(base({ open: true }, "0.0.0.0")))).toContain(
      "binds only a loopback host",
    );
    expect(() => checkServingSecurity(base({ open: true, apiKeys: ["k"] }, "0.0.0.0"))).not.toThrow();
    expect(() => checkServingSecurity(base({ upstreamSecret: "x".repeat(16) }, "0.0.0.0"))).not.toThrow();
  });

  it("wants a signing secret as long as the edge does", () => {
    expect(errorOf(() => checkServingSecurity(base({ upstreamSecret: "short" })))).toContain(
      "at least 16 characters",
    );
  });

  it("knows loopback hosts", () => {
    expect(["127.0.0.1", "127.1.2.3", "localhost", "::1"].every(isLoopbackHost)).toBe(true);
    expect(["0.0.0.0", "10.0.0.1", "::", "example.com"].some(isLoopbackHost)).toBe(false);
  });
});
