/** Where the installed wrangler and the edge's wrangler.toml are, for `gearbox start` and `gearbox keys`. */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "@gearbox/npu-backend/cli/args";

/** The wrangler CLI script of the wrangler this package depends on. */
export function wranglerBin(): string {
  return join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** Environment for a wrangler child: no metrics, no banner, and (offline) no network look-ups. */
export function wranglerEnv(offline: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
  };
  if (offline) env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  return env;
}

/** The nearest wrangler.toml from `start` up to the file system root. */
export function findWranglerToml(
  start: string,
  missing = "no wrangler.toml found here or above; pass --config FILE",
): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, "wrangler.toml");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new UsageError(missing);
  }
}
