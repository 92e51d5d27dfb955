/**
 * `gearbox start` (what `npm start` runs): everything on one machine, for a first look. Without
 * --model or --config it makes the demo model (the tiny shape: real Llama 3 architecture and
 * tokenizer, random weights — it answers gibberish, fast), starts the backend on 127.0.0.1:8080
 * and the edge in workerd (`wrangler dev`) on 127.0.0.1:8787 with a fresh signing secret, makes a
 * development API key (kept in .gearbox/ for the next start), and prints ready-to-paste examples
 * and the playground's URL.
 * Ctrl-C stops both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_MODEL_SEED, makeModel } from "@gearbox/gguf/model-maker/make-model";
import { integerOption, parseCommandArgs, runCommand, UsageError } from "@gearbox/npu-backend/cli/args";
import { progressBar } from "@gearbox/npu-backend/cli/progress";
import { serveUntilStopped } from "@gearbox/npu-backend/cli/serve";
import {
  type Config,
  readConfigFile,
  resolveConfig,
  singleModelConfig,
} from "@gearbox/npu-backend/config/load-config";
import { nativeEngine } from "@gearbox/npu-backend/engine/native-engine";
import { AUTO_MODEL } from "@gearbox/npu-backend/models/model-router";
import { startBackend } from "@gearbox/npu-backend/server/backend";
import { findWranglerToml as findWranglerTomlUp, wranglerBin, wranglerEnv } from "./wrangler.js";

const USAGE = `usage: gearbox start [--model FILE | --config FILE] [--port P] [--edge-port P]

Runs the backend (127.0.0.1:8080) and the edge in workerd (127.0.0.1:8787) together, with a
development API key, and prints how to call them. Without --model or --config it serves the demo
model: real architecture and tokenizer, random weights (its answers are gibberish).
State (demo model, key, the edge's local KV) lives in ./.gearbox/. Ctrl-C stops everything.
`;

export const DEMO_MODEL_ID = "demo-tiny-random";
const HOST = "127.0.0.1";
const EDGE_READY_TIMEOUT_MS = 120_000;

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const args = parseCommandArgs(argv, {
      model: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      "edge-port": { type: "string" },
    });
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (args.model !== undefined && args.config !== undefined)
      throw new UsageError("give --model or --config, not both");
    const backendPort = integerOption(args.port, "port", 1, 65535) ?? 8080;
    const edgePort = integerOption(args["edge-port"], "edge-port", 1, 65535) ?? 8787;
    const stateDir = resolve(".gearbox");
    const wranglerToml = findWranglerToml();
    const secret = randomBytes(24).toString("hex");

    let config: Config;
    let demo = false;
    if (args.config !== undefined) {
      config = await readConfigFile(args.config);
    } else {
      const modelPath = args.model ?? (await ensureDemoModel(stateDir));
      demo = args.model === undefined;
      const input = singleModelConfig(modelPath, demo ? DEMO_MODEL_ID : undefined);
      config = resolveConfig(
        { ...input, engine: { kvCacheMiB: 256 }, log: { level: "warn" } },
        "gearbox start",
        process.cwd(),
      );
    }
    config = {
      ...config,
      server: { host: HOST, port: backendPort },
      auth: { upstreamSecret: secret, apiKeys: [], open: false },
    };

    const stopped = stopSignal();
    const bar = progressBar("loading");
    const backend = await startBackend({
      config,
      engine: nativeEngine,
      onLoadProgress: (model, f, label) =>
        bar.update((model.index + f) / model.count, `${model.id}: ${label}`),
    });
    try {
      await backend.ready;
    } catch (error) {
      bar.done();
      await backend.shutdown(0);
      throw error;
    }
    bar.done();

    const key = await devApiKey(stateDir, wranglerToml);
    const edge = startEdge(wranglerToml, stateDir, edgePort, backend.url, secret);
    try {
      await waitForEdge(`http://${HOST}:${edgePort}/health`, edge);
    } catch (error) {
      stopEdge(edge);
      await backend.shutdown(0);
      throw error;
    }
    const models = backend.models.names;
    const model =
      models.includes(AUTO_MODEL) && config.models.length > 1 ? AUTO_MODEL : (config.models[0]?.id ?? "");
    process.stdout.write(
      banner({ edgeUrl: `http://${HOST}:${edgePort}`, backendUrl: backend.url, key, model, demo }),
    );

    const edgeStopped = stopped.then((signal) => {
      stopEdge(edge);
      return signal;
    });
    return serveUntilStopped(backend, edgeStopped);
  });
}

async function ensureDemoModel(stateDir: string): Promise<string> {
  const path = join(stateDir, "models", `${DEMO_MODEL_ID}-q8_0.gguf`);
  if (existsSync(path)) return path;
  await mkdir(dirname(path), { recursive: true });
  process.stderr.write(`Making the demo model (tiny shape, random weights) at ${path}\n`);
  const bar = progressBar("demo model");
  await makeModel({
    shape: "tiny",
    type: "q8_0",
    seed: DEFAULT_MODEL_SEED,
    out: path,
    onProgress: (written: number, total: number) => bar.update(written / total),
  });
  bar.done();
  return path;
}

/** The repository's wrangler.toml: beside this package in a checkout, else the nearest one above. */
function findWranglerToml(): string {
  const beside = fileURLToPath(new URL("../../../wrangler.toml", import.meta.url));
  if (existsSync(beside)) return beside;
  return findWranglerTomlUp(process.cwd(), "no wrangler.toml found (the edge's configuration)");
}

/** The development key: made once with `gearbox keys create` into the edge's local KV, then reused. */
async function devApiKey(stateDir: string, wranglerToml: string): Promise<string> {
  const keyFile = join(stateDir, "dev-api-key");
  const kvState = join(stateDir, "wrangler-state");
  if (existsSync(keyFile) && existsSync(kvState)) return (await readFile(keyFile, "utf8")).trim();
  await mkdir(stateDir, { recursive: true });
  const bin = fileURLToPath(new URL("../bin/gearbox.js", import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, "keys", "create", "--name", "dev", "--local", "--persist-to", kvState, "--config", wranglerToml],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((done, fail) => {
    child.on("error", fail);
    child.on("close", done);
  });
  const key = stdout.trim();
  if (code !== 0 || !key) throw new Error(`could not create the development API key:\n${stderr.trim()}`);
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}

function startEdge(
  wranglerToml: string,
  stateDir: string,
  port: number,
  backendUrl: string,
  secret: string,
): ChildProcess {
  const wrangler = wranglerBin();
  const log = openSync(join(stateDir, "wrangler.log"), "w");
  // Its own process group, so that stopping it also stops the workerd it runs.
  return spawn(
    process.execPath,
    [
      wrangler,
      "dev",
      "--config",
      wranglerToml,
      "--ip",
      HOST,
      "--port",
      String(port),
      "--persist-to",
      join(stateDir, "wrangler-state"),
      "--var",
      `UPSTREAMS:${backendUrl}`,
      "--var",
      `GEARBOX_UPSTREAM_SECRET:${secret}`,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      detached: true,
      stdio: ["ignore", log, log],
      env: wranglerEnv(true),
    },
  );
}

function stopEdge(edge: ChildProcess): void {
  if (edge.pid === undefined || edge.exitCode !== null) return;
  try {
    process.kill(-edge.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

async function waitForEdge(url: string, edge: ChildProcess): Promise<void> {
  const deadline = Date.now() + EDGE_READY_TIMEOUT_MS;
  let exited = false;
  edge.once("exit", () => (exited = true));
  const bar = progressBar("edge");
  bar.update(0, "starting wrangler dev");
  try {
    while (Date.now() < deadline) {
      if (exited) throw new Error("wrangler dev exited; see .gearbox/wrangler.log");
      const ok = await fetch(url)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `the edge did not become healthy within ${EDGE_READY_TIMEOUT_MS / 1000} s; see .gearbox/wrangler.log`,
    );
  } finally {
    bar.done();
  }
}

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let asked = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (asked) process.exit(130);
      asked = true;
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

function banner(o: {
  edgeUrl: string;
  backendUrl: string;
  key: string;
  model: string;
  demo: boolean;
}): string {
  const body = JSON.stringify({
    model: o.model,
    messages: [{ role: "user", content: "Hello!" }],
    max_tokens: 32,
  });
  const lines = [
    "",
    "gearbox is running.",
    ...(o.demo
      ? [
          `The model '${o.model}' is the DEMO model: real Llama 3 architecture and tokenizer, RANDOM weights, so its`,
          "answers are gibberish. Serve a real GGUF file with: npm start -- --model path/to/model.gguf",
        ]
      : []),
    "",
    `  base URL   ${o.edgeUrl}/v1`,
    `  API key    ${o.key}`,
    `  model      ${o.model}`,
    "",
    `Chat in the browser: ${o.edgeUrl}/playground (paste the API key there)`,
    "",
    "curl:",
    `  curl ${o.edgeUrl}/v1/chat/completions \\`,
    `    -H "Authorization: Bearer ${o.key}" -H "Content-Type: application/json" \\`,
    `    -d '${body}'`,
    "",
    "OpenAI SDK (JavaScript, `npm install openai`):",
    '  import OpenAI from "openai";',
    `  const client = new OpenAI({ baseURL: "${o.edgeUrl}/v1", apiKey: "${o.key}" });`,
    `  const stream = await client.chat.completions.create({ model: "${o.model}", messages: [{ role: "user", content: "Hello!" }], stream: true });`,
    '  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");',
    "",
    "OpenAI SDK (Python, `pip install openai`):",
    "  from openai import OpenAI",
    `  client = OpenAI(base_url="${o.edgeUrl}/v1", api_key="${o.key}")`,
    `  print(client.chat.completions.create(model="${o.model}", messages=[{"role": "user", "content": "Hello!"}]).choices[0].message.content)`,
    "",
    `The backend itself is at ${o.backendUrl} (it accepts only requests signed by the edge; metrics: ${o.backendUrl}/metrics).`,
    "Ctrl-C stops everything.",
    "",
  ];
  return `${lines.join("\n")}\n`;
}
