/**
 * Synthetic models for every test suite, made once and cached under <repo>/.cache/models/.
 * The file name holds everything that determines the bytes (shape, type, seed, generator version),
 * so a cached file is never stale. Several vitest workers may ask for the same model at once: one
 * takes a lock file and makes it (written to a temporary name and renamed, so a reader never sees a
 * partial file); the others wait for it. A lock left by a dead process is taken over.
 */
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelFileType } from "@gearbox/gguf/model-maker/file-types";
import { DEFAULT_MODEL_SEED, MODEL_GENERATOR_VERSION, makeModel } from "@gearbox/gguf/model-maker/make-model";
import type { ShapeName } from "@gearbox/gguf/model-maker/shapes";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const MODEL_CACHE_DIR = join(REPO_ROOT, ".cache", "models");

const POLL_MS = 100;
/** Longest a waiter waits for another process to finish a model (the 3b shape takes about a minute). */
const WAIT_LIMIT_MS = 10 * 60_000;

export function cachedModelPath(shape: ShapeName, type: ModelFileType, seed = DEFAULT_MODEL_SEED): string {
  return join(MODEL_CACHE_DIR, `${shape}-${type}-seed${seed}-gen${MODEL_GENERATOR_VERSION}.gguf`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Returns the path of the synthetic model, making it first if it is not cached yet. */
export async function ensureModel(
  shape: ShapeName,
  type: ModelFileType,
  seed = DEFAULT_MODEL_SEED,
): Promise<string> {
  const path = cachedModelPath(shape, type, seed);
  if (existsSync(path)) return path;
  await mkdir(MODEL_CACHE_DIR, { recursive: true });
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!existsSync(path)) {
    let lock: Awaited<ReturnType<typeof open>> | undefined;
    try {
      lock = await open(lockPath, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (lock) {
      try {
        await lock.write(String(process.pid));
        await lock.close();
        // Another process may have finished between our check and taking the lock.
        if (!existsSync(path)) await makeModel({ shape, type, seed, out: path });
      } finally {
        await rm(lockPath, { force: true });
      }
      break;
    }
    const holder = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      await rm(lockPath, { force: true }); // the maker died: take over
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${path} (lock ${lockPath} held by pid ${holder})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return path;
}
