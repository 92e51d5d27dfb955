/**
 * A real backend for the server tests: the real engine on tiny synthetic models (real tokenizer and
 * chat template), small gears and KV cache so that a test file starts in about a second, served
 * over HTTP on a loopback port.
 */
import { pino } from "pino";
import type { ConfigInput } from "../src/config/config-schema.js";
import { resolveConfig } from "../src/config/load-config.js";
import type { Engine } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { type Backend, startBackend } from "../src/server/backend.js";
import { ensureModel, REPO_ROOT } from "./support/models.js";

export const TEST_SECRET = "server-test-secret-0123456789";

/** Settings small enough for 2 shared cores. */
export const SMALL_ENGINE = { threads: 1, contextLength: 1024, kvCacheMiB: 8 };
export const SMALL_GEARS = { prefill: [16, 64], decodeBatch: [1, 4, 16], warm: "all" as const, cacheDir: "" };

export type TestConfig = Partial<Omit<ConfigInput, "models">> & { models?: ConfigInput["models"] };

export interface HarnessOptions {
  /** The engine (default: the native one); tests may wrap it, e.g. to hold a load back. */
  engine?: Engine;
  /** Wait for the models to load (default true). */
  waitReady?: boolean;
}

/** Starts a backend on 127.0.0.1 (random port) serving the tiny q8_0 model as "tiny-en" unless told otherwise. */
export async function startTestBackend(
  overrides: TestConfig = {},
  options: HarnessOptions = {},
): Promise<Backend> {
  const tiny = await ensureModel("tiny", "q8_0");
  const input: ConfigInput = {
    models: overrides.models ?? [{ id: "tiny-en", path: tiny, languages: ["en"] }],
    engine: { ...SMALL_ENGINE, ...overrides.engine },
    gears: { ...SMALL_GEARS, ...overrides.gears },
    server: { host: "127.0.0.1", port: 0 },
    auth: overrides.auth ?? { open: true },
    limits: { pingIntervalSeconds: 0.2, ...overrides.limits },
    log: { level: "silent" },
    ...(overrides.router ? { router: overrides.router } : {}),
  };
  const config = resolveConfig(input, "test config", REPO_ROOT);
  const backend = await startBackend({
    config,
    engine: options.engine ?? nativeEngine,
    logger: pino({ level: "silent" }),
  });
  if (options.waitReady !== false) await backend.ready;
  return backend;
}

/** The value of one series (with these labels) in a Prometheus exposition, or undefined. */
export function metricValue(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([^\s{]+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

export async function scrape(
  backend: Backend,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const response = await fetch(`${backend.url}/metrics`);
  return metricValue(await response.text(), name, labels);
}

/** A response body parsed as JSON, for assertions that probe its shape. */
// biome-ignore lint/suspicious/noExplicitAny: the tests check the shape themselves
export function json(response: Response): Promise<any> {
  return response.json();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
