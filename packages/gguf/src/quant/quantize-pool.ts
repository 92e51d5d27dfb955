/**
 * Quantization on worker threads. The K-quant searches cost hundreds of nanoseconds per value in
 * JavaScript, so a 1B model in Q4_K_M takes minutes on one core; chunks are independent, so they
 * spread over cores, and the bytes are the same whatever the thread count.
 *
 * Workers run the compiled quantize-worker.js. When it is not there (the TypeScript sources run
 * directly, as under vitest) the pool quantizes on the calling thread instead.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { GgmlTypeInfo } from "../ggml-types.js";
import { quantize } from "./codec.js";
import type { QuantizeRequest, QuantizeResponse } from "./quantize-worker.js";

export interface QuantizePool {
  /** Number of worker threads (0: quantizes on the calling thread). */
  readonly threads: number;
  /**
   * Encodes `values`. Their buffer is transferred to a worker: it must hold only these values and
   * must not be used afterwards.
   */
  quantize(type: GgmlTypeInfo, values: Float32Array): Promise<Uint8Array>;
  /** Stops the workers; the pool keeps the process alive until closed. */
  close(): Promise<void>;
}

const WORKER_URL = new URL("./quantize-worker.js", import.meta.url);

/** A pool of `threads` workers (default: one per core, at most 8). */
export function createQuantizePool(threads = Math.min(availableParallelism(), 8)): QuantizePool {
  if (threads < 1 || !existsSync(fileURLToPath(WORKER_URL))) {
    return { threads: 0, quantize: async (type, values) => quantize(type, values), close: async () => {} };
  }
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_URL));
  const pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  for (const worker of workers) {
    worker.on("message", (m: QuantizeResponse) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if ("error" in m) p?.reject(new Error(`quantize worker: ${m.error}`));
      else p?.resolve(m.bytes);
    });
    worker.on("error", (err) => {
      failure = err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
  }
  return {
    threads,
    quantize(type, values) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      const worker = workers[id % workers.length] as Worker;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, typeId: type.id, values } satisfies QuantizeRequest, [
          values.buffer as ArrayBuffer,
        ]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
