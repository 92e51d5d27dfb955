/**
 * The backend's configuration file (`gearbox.config.json`), validated once at start-up. Every field
 * has a default, so `{ "models": [...] }` is a complete file. Objects are strict: a misspelt key is
 * an error naming it rather than a setting silently left at its default.
 */
import { z } from "zod";

/** Model ids and aliases as clients send them in `model`. */
const modelName = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/,
    "must start with a letter or digit and use only A-Z a-z 0-9 . _ : / -",
  );

/**
 * A secret given inline or as `env:NAME` (read from the environment at start-up, so that the
 * file itself can be committed).
 */
const secretRef = z.string().min(1);

export const modelEntrySchema = z.strictObject({
  id: modelName.refine((id) => id !== "auto", "'auto' is reserved for the router"),
  /** The GGUF file; relative paths are taken from the config file's directory. */
  path: z.string().min(1),
  /** Languages this model answers, e.g. ["en"] or ["zh"]: what the "auto" router picks it for. */
  languages: z
    .array(z.string().regex(/^[a-z]{2,3}$/, "must be an ISO 639 code such as en or zh"))
    .default([]),
  aliases: z.array(modelName.refine((id) => id !== "auto", "'auto' is reserved for the router")).default([]),
});
export type ModelEntry = z.infer<typeof modelEntrySchema>;

export const routerSchema = z.strictObject({
  /** Serve model "auto": pick a model by the language of the conversation. */
  auto: z.boolean().default(true),
  /** The model for "auto" when no model lists the detected language; default: the first model. */
  default: modelName.optional(),
});

export const engineSchema = z.strictObject({
  /** Compute threads per model; 0 = every core (models take turns, so they never compete for cores). */
  threads: z.int().min(0).max(1024).default(0),
  /** Tokens per sequence (prompt + completion); capped by each model's trained context. */
  contextLength: z
    .int()
    .min(16)
    .max(1 << 20)
    .default(8192),
  /** KV cache per model, MiB. */
  kvCacheMiB: z
    .int()
    .min(1)
    .max(1 << 20)
    .default(1024),
});

const bucketList = z
  .array(
    z
      .int()
      .min(1)
      .max(1 << 16),
  )
  .min(1)
  .refine(
    (list) => list.every((v, i) => i === 0 || v > (list[i - 1] as number)),
    "must be strictly increasing",
  );

export const gearsSchema = z.strictObject({
  /** Token buckets of prefill (and mixed) steps. The largest is the scheduler's per-step token budget. */
  prefill: bucketList.default([16, 32, 64, 128, 256, 512]),
  /** Sequence buckets of decode steps. The largest bounds the sequences running at once per model. */
  decodeBatch: bucketList.default([1, 2, 4, 8, 16]),
  /** Compile every configured gear at start-up ("all") or on first use ("none"). */
  warm: z.enum(["all", "none"]).default("all"),
  /** Where compiled plans persist across restarts (relative to the config file); "" = nowhere. */
  cacheDir: z.string().default(".gearbox/plans"),
});

/**
 * The engine's sizes when a caller gives none (tools, tests, benches): the schema's own defaults,
 * so they are written once. The native engine has no defaults for them.
 */
export const engineDefaults = engineSchema.parse({});
export const gearDefaults = gearsSchema.parse({});

export const limitsSchema = z.strictObject({
  /** Requests waiting for a slot, per model; beyond it: 503 server_overloaded with retry-after. */
  maxQueue: z.int().min(0).max(1_000_000).default(256),
  /** max_tokens when a request gives none (capped by what is left of the context). */
  maxTokensDefault: z.int().min(1).default(512),
  /** Choices one request may ask for: n, times the number of prompts of a /v1/completions batch. */
  maxChoicesPerRequest: z.int().min(1).max(1024).default(32),
  /** Characters of one stop string (at most 4 of them, as OpenAI allows). */
  maxStopLength: z.int().min(1).max(65_536).default(256),
  /** Request bodies larger than this get 413. */
  maxBodyBytes: z
    .int()
    .min(1024)
    .default(1 << 20),
  /** A request not finished this long after it arrived is ended with an error. */
  requestTimeoutSeconds: z.number().positive().default(600),
  /** Tokens per engine step (decode tokens first, prefill chunks fill the rest); default: the largest prefill gear. */
  stepTokens: z.int().min(1).optional(),
  /** While a stream has nothing to send (queued, long prefill), a `: ping` comment goes out this often. */
  pingIntervalSeconds: z.number().positive().default(2),
  /** On SIGINT/SIGTERM, running requests get this long to finish before they are cancelled. */
  shutdownGraceSeconds: z.number().min(0).default(10),
});

export const authSchema = z.strictObject({
  /** The secret the edge signs requests with (HMAC-SHA256 over method, path, timestamp and body hash; docs/backend.md); "env:NAME" reads it from the environment. */
  upstreamSecret: secretRef.optional(),
  /** Keys the backend itself accepts as `Authorization: Bearer KEY` (for running without the edge). */
  apiKeys: z.array(secretRef).default([]),
  /** Accept unsigned requests (local use only: refuses a non-loopback host). */
  open: z.boolean().default(false),
});

export const serverSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.int().min(0).max(65535).default(8080),
});

export const logSchema = z.strictObject({
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Log prompts and completions (at debug level). Off by default: they are the users' data. */
  prompts: z.boolean().default(false),
});

export const configSchema = z
  .strictObject({
    models: z
      .array(modelEntrySchema)
      .min(1, "at least one model is required")
      .superRefine((models, ctx) => {
        const seen = new Set<string>();
        models.forEach((model, i) => {
          for (const name of [model.id, ...model.aliases]) {
            if (seen.has(name))
              ctx.addIssue({ code: "custom", message: `the name '${name}' is used twice`, path: [i] });
            seen.add(name);
          }
        });
      }),
    router: routerSchema.prefault({}),
    engine: engineSchema.prefault({}),
    gears: gearsSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    auth: authSchema.prefault({}),
    server: serverSchema.prefault({}),
    log: logSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const ids = config.models.map((m) => m.id);
    if (config.router.default !== undefined && !ids.includes(config.router.default)) {
      ctx.addIssue({
        code: "custom",
        message: `'${config.router.default}' is not the id of a configured model (${ids.join(", ")})`,
        path: ["router", "default"],
      });
    }
    const maxBatch = Math.max(...config.gears.decodeBatch);
    if (config.limits.stepTokens !== undefined && config.limits.stepTokens < maxBatch) {
      ctx.addIssue({
        code: "custom",
        message: `must be at least the largest decode batch (${maxBatch}), or running sequences would starve`,
        path: ["limits", "stepTokens"],
      });
    }
  });

/** The file as written (every field optional where it has a default). */
export type ConfigInput = z.input<typeof configSchema>;
/** The file after validation and defaults; secrets still as written. */
export type ParsedConfig = z.output<typeof configSchema>;
