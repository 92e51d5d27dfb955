/**
 * Reading the configuration: the file (or a one-model config built from `--model`), validated with
 * configSchema, then resolved: paths made absolute against the file's directory and `env:NAME`
 * secrets read from the environment. Any problem is a ConfigError naming the field.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { formatPath } from "@gearbox/shared";
import type { z } from "zod";
import { type ConfigInput, configSchema, type ParsedConfig } from "./config-schema.js";

/** The variable the edge keeps its signing secret in; the backend reads it when auth.upstreamSecret is unset. */
export const UPSTREAM_SECRET_VARIABLE = "GEARBOX_UPSTREAM_SECRET";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The configuration the backend runs with: validated, defaults filled in, references resolved. */
export interface Config extends Omit<ParsedConfig, "auth" | "limits"> {
  auth: { upstreamSecret: string | undefined; apiKeys: string[]; open: boolean };
  limits: ParsedConfig["limits"] & { stepTokens: number };
}

/** Validates and resolves a configuration object; `source` names it in errors, `baseDir` anchors relative paths. */
export function resolveConfig(
  input: unknown,
  source: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(`${source}: ${describeIssues(result.error)}`);
  const parsed = result.data;
  function secret(value: string, field: string): string;
  function secret(value: string, field: string, options: { optional: boolean }): string | undefined;
  function secret(value: string, field: string, options = { optional: false }): string | undefined {
    if (!value.startsWith("env:")) return value;
    const name = value.slice(4);
    const found = env[name];
    if (found !== undefined && found !== "") return found;
    if (options.optional) return undefined;
    throw new ConfigError(`${source}: ${field}: the environment variable ${name} is not set`);
  }
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return {
    ...parsed,
    models: parsed.models.map((m) => ({ ...m, path: absolute(m.path) })),
    gears: { ...parsed.gears, cacheDir: parsed.gears.cacheDir === "" ? "" : absolute(parsed.gears.cacheDir) },
    limits: { ...parsed.limits, stepTokens: parsed.limits.stepTokens ?? Math.max(...parsed.gears.prefill) },
    auth: {
      open: parsed.auth.open,
      // Unset, it is the edge's own variable when the environment has it (as in local development).
      upstreamSecret: secret(
        parsed.auth.upstreamSecret ?? `env:${UPSTREAM_SECRET_VARIABLE}`,
        "auth.upstreamSecret",
        {
          optional: parsed.auth.upstreamSecret === undefined,
        },
      ),
      apiKeys: parsed.auth.apiKeys.map((key, i) => secret(key, `auth.apiKeys[${i}]`)),
    },
  };
}

/** Reads and resolves a JSON configuration file. */
export async function readConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  return resolveConfig(json, path, dirname(resolve(path)), env);
}

/** The configuration of `serve --model FILE`: one model, its id from `--model-id` or the file name. */
export function singleModelConfig(modelPath: string, modelId?: string): ConfigInput {
  const base = modelPath.split(/[\\/]/).pop() ?? modelPath;
  const id = modelId ?? base.replace(/\.gguf$/i, "");
  return { models: [{ id, path: modelPath }] };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const field = formatPath(issue.path);
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
