/**
 * `gearbox serve` as its own process, as a user runs it: started on a free port with the given
 * arguments, resolved once its /health says ready (it listens while its models load and its gears
 * warm, answering 503 "loading"), stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { metricValue } from "../../apps/npu-backend/test/server-harness.js";
import { ensureModel } from "../../apps/npu-backend/test/support/models.js";

const GEARBOX = fileURLToPath(new URL("../../apps/local/bin/gearbox.js", import.meta.url));

export interface BackendProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startBackendProcess(
  args: string[],
  env: Record<string, string> = {},
  /** A fixed port (e.g. to bring a killed backend back where the edge expects it); default a free one. */
  port = 0,
): Promise<BackendProcess> {
  const child = spawn(process.execPath, [GEARBOX, "serve", ...args, "--port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk;
      const match = /serving .* on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`gearbox serve exited (${code}):\n${stderr}`)));
  });
  // An edge that probes a loading backend backs off from it: tests that spread requests over
  // several backends must start them ready, as an operator's rollout would.
  const deadline = performance.now() + 60_000;
  while (
    (await fetch(`${url}/health`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gearbox serve exited before it was ready:\n${stderr}`);
    if (performance.now() > deadline) throw new Error(`gearbox serve not ready within 60 s:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Small engine settings for 2 shared cores: a process starts in a few seconds. */
export const SMALL_BACKEND_SETTINGS = {
  engine: { threads: 1, contextLength: 1024, kvCacheMiB: 8 },
  gears: { prefill: [16, 64], decodeBatch: [1, 4, 16], cacheDir: "" },
};

/**
 * Writes a `gearbox serve` config file serving the tiny synthetic q8_0 model as `tiny-en` (and
 * `tiny-zh` too with `zh`), signed by the edge's secret from `$GEARBOX_UPSTREAM_SECRET`; `extra`
 * fields (limits, log, …) are merged over the small defaults. Returns the file's path.
 */
export async function writeBackendConfig(
  extra: Record<string, unknown> = {},
  options: { zh?: boolean } = {},
): Promise<string> {
  const tiny = await ensureModel("tiny", "q8_0");
  const models = [{ id: "tiny-en", path: tiny, languages: ["en"] }];
  if (options.zh)
    models.push({ id: "tiny-zh", path: await ensureModel("tiny-alt", "q8_0"), languages: ["zh"] });
  const dir = await mkdtemp(join(tmpdir(), "gearbox-backend-"));
  const path = join(dir, "gearbox.config.json");
  await writeFile(
    path,
    JSON.stringify({
      models,
      ...SMALL_BACKEND_SETTINGS,
      auth: { upstreamSecret: "env:GEARBOX_UPSTREAM_SECRET" },
      log: { level: "warn" },
      ...extra,
    }),
  );
  return path;
}

/** One series of a backend's /metrics (0 when absent). */
export async function backendMetric(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricValue(text, name, labels) ?? 0;
}

/** True once a model has nothing running, waiting or holding KV blocks (cached prefix blocks aside). */
export async function backendIdle(url: string, model: string): Promise<boolean> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const labels = { model_name: model };
  return [
    "gearbox:num_requests_running",
    "gearbox:num_requests_waiting",
    "gearbox:kv_cache_blocks_used",
    "gearbox:num_sequences",
  ].every((name) => (metricValue(text, name, labels) ?? 0) === 0);
}
