/**
 * Runs the real edge worker in workerd through Miniflare: bundled from apps/edge/src with the
 * esbuild that wrangler uses, bindings (KV, Durable Objects, vars) taken from the root
 * wrangler.toml, so a broken config breaks these tests too. Keys are written into the real
 * (in-memory) KV namespace exactly as `gearbox keys create` writes them.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiKeyRecord, apiKeyStorageName, generateApiKey, hashApiKey } from "@gearbox/shared";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

export const TEST_SECRET = "edge-test-secret-0123456789abcdef";

/** The repository root: the nearest directory up from here with the worker's wrangler.toml. */
function findRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "wrangler.toml"))) return `${dir}/`;
    if (dirname(dir) === dir) throw new Error("wrangler.toml not found above the edge test harness");
  }
}
const root = findRoot();
let bundle: Promise<string> | undefined;

/** The worker as one ES module, bundled once per test file. */
export function bundleWorker(): Promise<string> {
  bundle ??= build({
    entryPoints: [`${root}apps/edge/src/index.ts`],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    logLevel: "silent",
  }).then((result) => result.outputFiles[0]?.text ?? "");
  return bundle;
}

export interface Edge {
  url: string;
  mf: Miniflare;
  /** Stores a new key (as `gearbox keys create` does) and returns the key itself. */
  addKey(record?: Partial<Omit<ApiKeyRecord, "hash" | "created">>): Promise<string>;
  dispose(): Promise<void>;
}

/** The worker's Miniflare options from wrangler.toml, read by wrangler itself (offline). */
async function wranglerTomlOptions() {
  // Wrangler reads these when it loads; set first so that it never phones home.
  process.env.WRANGLER_SEND_METRICS = "false";
  process.env.WRANGLER_HIDE_BANNER = "true";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  return unstable_getMiniflareWorkerOptions(`${root}wrangler.toml`).workerOptions;
}

export async function startEdge(
  upstreams: string[],
  vars: Record<string, string> = {},
  /** A wrangler state directory (as `--persist-to`) whose KV to use instead of an empty one. */
  wranglerState?: string,
): Promise<Edge> {
  const workerOptions = await wranglerTomlOptions();
  const mf = new Miniflare({
    ...workerOptions,
    modules: [{ type: "ESModule", path: "index.js", contents: await bundleWorker() }],
    bindings: {
      ...workerOptions.bindings,
      UPSTREAMS: upstreams.join(","),
      GEARBOX_UPSTREAM_SECRET: TEST_SECRET,
      ...vars,
    },
    host: "127.0.0.1",
    port: 0,
    kvPersist: wranglerState ? `${wranglerState}/v3/kv` : false,
    durableObjectsPersist: false,
  });
  const url = (await mf.ready).origin;
  return {
    url,
    mf,
    async addKey(record = {}) {
      const key = generateApiKey();
      const hash = await hashApiKey(key);
      const full: ApiKeyRecord = {
        hash,
        name: record.name ?? "test",
        models: record.models ?? null,
        rpm: record.rpm ?? null,
        tpm: record.tpm ?? null,
        created: Math.floor(Date.now() / 1000),
      };
      const kv = await mf.getKVNamespace("API_KEYS");
      await kv.put(apiKeyStorageName(hash), JSON.stringify(full));
      return key;
    },
    dispose: () => mf.dispose(),
  };
}

/** A chat request body; `content` steers the stand-in upstream (see stand-in-upstream.ts). */
export function chatBody(content = "hello", extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: "llama-3.2-1b-en", messages: [{ role: "user", content }], ...extra });
}

export function authHeaders(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}`, "content-type": "application/json" };
}
