#!/usr/bin/env node
// The gearbox CLI. The TypeScript sources are compiled to dist/ by `npm install` (root `prepare`).
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gearbox: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
