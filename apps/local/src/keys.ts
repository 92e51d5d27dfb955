/**
 * `gearbox keys create`: a new API key for the edge worker. The key is printed once and never
 * stored; its SHA-256 and what it may do go into the edge's API_KEYS KV namespace, through
 * wrangler, so that the same command serves local dev (`--local`) and production (`--remote`).
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import {
  integerOption,
  parseCommandArgs,
  requireOption,
  runCommand,
  UsageError,
} from "@gearbox/npu-backend/cli/args";
import { type ApiKeyRecord, apiKeyStorageName, generateApiKey, hashApiKey } from "@gearbox/shared";
import { findWranglerToml, wranglerBin, wranglerEnv } from "./wrangler.js";

const USAGE = `usage: gearbox keys create --name NAME [--models ID,ID...] [--rpm N] [--tpm N]
                          [--local [--persist-to DIR] | --remote | --print] [--config FILE]

Creates an API key for the edge and prints it once, alone on stdout. Only its SHA-256 is kept:
KV entry key:<sha256> in the API_KEYS namespace, holding {hash, name, models, rpm, tpm, created}.

  --name        who the key is for (named in rate-limit errors)
  --models      comma-separated model ids the key may use (default: every model)
  --rpm         requests per minute (default: unlimited)
  --tpm         tokens per minute, prompt + completion (default: unlimited)
  --local       store it in the local KV that 'wrangler dev' uses (the default)
  --persist-to  local state directory (default: wrangler's .wrangler/state)
  --remote      store it in the deployed namespace ('wrangler kv key put --remote'; needs 'wrangler login')
  --print       store nothing: print the record and the wrangler command that stores it
  --config      the edge's wrangler.toml (default: the nearest one from the current directory up)
`;

type Target = "local" | "remote" | "print";

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const [subcommand, ...rest] = argv;
    if (subcommand === "--help" || subcommand === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (subcommand !== "create")
      throw new UsageError(`unknown keys subcommand '${subcommand ?? ""}' (expected 'create')`);
    const args = parseCommandArgs(rest, {
      name: { type: "string" },
      models: { type: "string" },
      rpm: { type: "string" },
      tpm: { type: "string" },
      local: { type: "boolean" },
      remote: { type: "boolean" },
      print: { type: "boolean" },
      "persist-to": { type: "string" },
      config: { type: "string" },
    });
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const targets = (["local", "remote", "print"] as const).filter((t) => args[t]);
    if (targets.length > 1) throw new UsageError(`choose one of --${targets.join(", --")}`);
    const target: Target = targets[0] ?? "local";
    if (args["persist-to"] !== undefined && target !== "local")
      throw new UsageError("--persist-to goes with --local");

    const key = generateApiKey();
    const record: ApiKeyRecord = {
      hash: await hashApiKey(key),
      name: requireOption(args.name, "name"),
      models: modelList(args.models),
      rpm: integerOption(args.rpm, "rpm", 1) ?? null,
      tpm: integerOption(args.tpm, "tpm", 1) ?? null,
      created: Math.floor(Date.now() / 1000),
    };
    const entry = apiKeyStorageName(record.hash);
    const value = JSON.stringify(record);
    const config = args.config ? resolve(args.config) : findWranglerToml(process.cwd());

    if (target === "print") {
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `Nothing stored. The KV entry for this key:\n  ${entry}\n  ${value}\n` +
          `Store it with:\n  npx wrangler kv key put --binding API_KEYS --remote '${entry}' '${value}'\n`,
      );
      return 0;
    }

    const where = ["--binding", "API_KEYS", "--config", config, target === "remote" ? "--remote" : "--local"];
    if (args["persist-to"] !== undefined) where.push("--persist-to", resolve(args["persist-to"]));
    await runWrangler(["kv", "key", "put", entry, value, ...where], target === "local");
    process.stdout.write(`${key}\n`);
    process.stderr.write(
      `Stored API key '${record.name}' (models: ${record.models?.join(", ") ?? "all"}, rpm: ${record.rpm ?? "unlimited"}, ` +
        `tpm: ${record.tpm ?? "unlimited"}) in the ${target === "remote" ? "deployed" : "local"} API_KEYS namespace.\n` +
        "This is the only time the key is shown.\n",
    );
    return 0;
  });
}

function modelList(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  const models = text.split(",").map((m) => m.trim());
  if (models.length === 0 || models.some((m) => m === ""))
    throw new UsageError(`--models has an empty model id: '${text}'`);
  return models;
}

/** Runs the installed wrangler; a local write never needs the network, so wrangler is told so. */
async function runWrangler(args: string[], offline: boolean): Promise<void> {
  let bin: string;
  try {
    bin = wranglerBin();
  } catch {
    throw new Error(
      "wrangler is not installed (it comes with the edge's dependencies); use --print and store the record yourself",
    );
  }
  const env = wranglerEnv(offline);
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.on("error", fail);
    child.on("close", done);
  });
  if (code !== 0)
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${code}):\n${output.trim()}`);
}
