/**
 * `gearbox serve`: the backend. Reads the configuration (a file, or one model from --model),
 * listens at once (/health answers 503 until the models are loaded and their gears warm), shows
 * load progress on stderr, and on SIGINT/SIGTERM stops taking requests, lets running ones finish
 * for limits.shutdownGraceSeconds, ends the rest, and exits. A second signal exits at once.
 */
import { existsSync } from "node:fs";
import type { ConfigInput } from "../config/config-schema.js";
import {
  type Config,
  ConfigError,
  readConfigFile,
  resolveConfig,
  singleModelConfig,
} from "../config/load-config.js";
import { nativeEngine } from "../engine/native-engine.js";
import { type Backend, startBackend } from "../server/backend.js";
import { integerOption, parseCommandArgs, runCommand, UsageError } from "./args.js";
import { type Progress, progressBar } from "./progress.js";

const USAGE = `usage: gearbox serve [--config FILE | --model FILE [--model-id ID]] [--host H] [--port P]
                     [--open] [--api-key KEY]...

Serves the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics).

  --config    the configuration file (default: $GEARBOX_CONFIG, else ./gearbox.config.json)
  --model     serve this one GGUF file without a configuration file
  --model-id  its model id (default: the file name without .gguf)
  --host      address to listen on (default 127.0.0.1)
  --port      port (default 8080; 0 picks a free one)
  --open      accept requests without signature or key (loopback hosts only; local use)
  --api-key   require 'Authorization: Bearer KEY' from clients (repeatable), for use without the edge

Behind the edge, set the edge's signing secret: auth.upstreamSecret in the file, or the
GEARBOX_UPSTREAM_SECRET environment variable. See docs/backend.md.
`;

const SERVE_OPTIONS = {
  config: { type: "string" },
  model: { type: "string" },
  "model-id": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  open: { type: "boolean" },
  "api-key": { type: "string", multiple: true },
} as const;

type ServeArgs = ReturnType<typeof parseCommandArgs<typeof SERVE_OPTIONS>>;

/** The configuration the command line asks for: file or --model, with --host/--port/--open/--api-key applied. */
export async function configFromArgs(args: ServeArgs, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  if (args.config !== undefined && args.model !== undefined)
    throw new UsageError("give --config or --model, not both");
  if (args["model-id"] !== undefined && args.model === undefined)
    throw new UsageError("--model-id goes with --model");
  let config: Config;
  if (args.model !== undefined) {
    if (!existsSync(args.model)) throw new UsageError(`--model: no such file '${args.model}'`);
    const input: ConfigInput = singleModelConfig(args.model, args["model-id"]);
    config = resolveConfig(input, "--model", process.cwd(), env);
  } else {
    const file =
      args.config ??
      env.GEARBOX_CONFIG ??
      (existsSync("gearbox.config.json") ? "gearbox.config.json" : undefined);
    if (file === undefined) throw new UsageError("nothing to serve: give --config FILE or --model FILE");
    config = await readConfigFile(file, env);
  }
  const port = integerOption(args.port, "port", 0, 65535);
  return {
    ...config,
    server: { host: args.host ?? config.server.host, port: port ?? config.server.port },
    auth: {
      ...config.auth,
      open: config.auth.open || args.open === true,
      apiKeys: [...config.auth.apiKeys, ...(args["api-key"] ?? [])],
    },
  };
}

/** Load progress as one bar per model on stderr. */
function loadProgress(): { update: Parameters<typeof startBackend>[0]["onLoadProgress"]; done(): void } {
  let current: { id: string; bar: Progress; started: number } | undefined;
  const finish = () => {
    if (current) current.bar.done(`loaded in ${((performance.now() - current.started) / 1000).toFixed(1)} s`);
  };
  return {
    update: (model, fraction, label) => {
      if (current?.id !== model.id) {
        finish();
        const title = model.count > 1 ? `${model.id} (${model.index + 1}/${model.count})` : model.id;
        current = { id: model.id, bar: progressBar(title), started: performance.now() };
      }
      current.bar.update(fraction, label);
    },
    done: finish,
  };
}

/** Resolves once the process has been asked to stop (SIGINT/SIGTERM); a second signal exits at once. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let asked = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (asked) {
        process.stderr.write("gearbox: stopping now\n");
        process.exit(130);
      }
      asked = true;
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Runs a started backend until a stop signal; returns the exit code. */
export async function serveUntilStopped(backend: Backend, stopped: Promise<string>): Promise<number> {
  const outcome = await Promise.race([
    backend.ready.then(
      () => "ready" as const,
      (error: unknown) => error,
    ),
    stopped.then(() => "stop" as const),
  ]);
  if (outcome !== "ready" && outcome !== "stop") {
    process.stderr.write(`gearbox: ${outcome instanceof Error ? outcome.message : String(outcome)}\n`);
    await backend.shutdown(0);
    return 1;
  }
  if (outcome === "ready") {
    process.stderr.write(`gearbox: serving ${backend.models.names.join(", ")} on ${backend.url}\n`);
    await stopped;
  }
  if (backend.models.state === "loading") {
    // A model is still loading (the engine cannot be interrupted) and nothing runs yet.
    process.stderr.write("gearbox: stopped while loading\n");
    process.exit(130);
  }
  process.stderr.write("gearbox: shutting down (finishing running requests; Ctrl-C again to stop now)\n");
  await backend.shutdown();
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const args = parseCommandArgs(argv, SERVE_OPTIONS);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    let config: Config;
    try {
      config = await configFromArgs(args);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`gearbox: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
    const stopped = stopSignal();
    const progress = loadProgress();
    let backend: Backend;
    try {
      backend = await startBackend({ config, engine: nativeEngine, onLoadProgress: progress.update });
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`gearbox: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
    backend.ready.then(progress.done, progress.done);
    return serveUntilStopped(backend, stopped);
  });
}
