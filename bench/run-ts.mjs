#!/usr/bin/env node
// Runs one TypeScript bench driver on Node 20 (which cannot run .ts itself): bundles it with the
// esbuild that wrangler brings, packages left external, into a temporary module, and imports it.
//   node bench/run-ts.mjs bench/edge-latency.ts [args...]
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write("usage: node bench/run-ts.mjs FILE.ts [args...]\n");
  process.exit(2);
}
// Inside the repository, so that the bundle's package imports resolve from its node_modules.
const cache = join(process.cwd(), "node_modules", ".cache");
await mkdir(cache, { recursive: true });
// Each bundled module of the repository keeps its own `import.meta.url` (not the bundle's), so that
// helpers that find files relative to themselves (test/support, the model cache) work from a bench.
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.(ts|mjs|js)$/ }, async (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      return {
        contents: text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
        loader: args.path.endsWith(".ts") ? "ts" : "js",
      };
    });
  },
};
const dir = await mkdtemp(join(cache, "bench-"));
const outfile = join(dir, "bench.mjs");
try {
  await build({
    entryPoints: [entry],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    outfile,
    plugins: [ownImportMetaUrl],
    logLevel: "warning",
  });
  process.argv = [process.argv[0], entry, ...args];
  await import(pathToFileURL(outfile).href);
} finally {
  await rm(dir, { recursive: true, force: true });
}
