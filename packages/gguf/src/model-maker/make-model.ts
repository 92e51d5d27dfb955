/**
 * Makes a synthetic Llama 3 model file: real architecture, real Llama 3 tokenizer and chat
 * template, deterministic random weights (see weights.ts). Tensors are generated a few rows at a
 * time, encoded on worker threads and streamed to disk, so memory stays small even for the 3B
 * shape; the file appears at `out` only when complete. The bytes do not depend on the number of
 * threads.
 */
import { createQuantizePool, type QuantizePool } from "../quant/quantize-pool.js";
import type { GgufTensorWrite } from "../writer.js";
import { writeGguf } from "../writer.js";
import type { ModelFileType } from "./file-types.js";
import { loadLlama3Vocab } from "./llama3-vocab.js";
import { buildModelMetadata } from "./model-metadata.js";
import { streamFor } from "./prng.js";
import { SHAPES, type ShapeName } from "./shapes.js";
import { type PlannedTensor, planTensors } from "./tensor-plan.js";

/** Bump when the same options would produce different bytes (caches key on it). */
export const MODEL_GENERATOR_VERSION = 2;
export const DEFAULT_MODEL_SEED = 0;

/** Values generated per chunk: 1 Mi f32 values = 4 MiB, the bound on per-tensor memory. */
const CHUNK_VALUES = 1 << 20;

export interface MakeModelOptions {
  shape: ShapeName;
  type: ModelFileType;
  /** Non-negative integer (default 0). The same options always give the same bytes. */
  seed?: number;
  out: string;
  /** Worker threads for encoding (default: one per core, at most 8; 0: all on this thread). */
  threads?: number;
  /** Called as data is written. */
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

export interface MakeModelResult {
  path: string;
  bytes: number;
  tensorCount: number;
  elapsedMs: number;
}

/**
 * The tensor's bytes, a chunk of rows at a time. Values are generated here, in order (the random
 * stream is sequential); encoding runs on the pool, up to `inFlight` chunks ahead.
 */
async function* tensorChunks(
  tensor: PlannedTensor,
  seed: number,
  pool: QuantizePool,
  inFlight: number,
): AsyncGenerator<Uint8Array> {
  const rowLength = tensor.dims[0];
  const rows = tensor.dims[1] ?? 1;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / rowLength));
  const rng = streamFor(seed, tensor.name);
  const queue: Promise<Uint8Array>[] = [];
  for (let row = 0; row < rows; row += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, rows - row);
    const values = new Float32Array(count * rowLength); // fresh: it is transferred to a worker
    tensor.fill(rng, row, count, values);
    queue.push(pool.quantize(tensor.type, values));
    if (queue.length >= inFlight) yield await (queue.shift() as Promise<Uint8Array>);
  }
  while (queue.length > 0) yield await (queue.shift() as Promise<Uint8Array>);
}

export async function makeModel(options: MakeModelOptions): Promise<MakeModelResult> {
  const seed = options.seed ?? DEFAULT_MODEL_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`make-model: seed must be a non-negative integer, got ${seed}`);
  const start = performance.now();
  const shape = SHAPES[options.shape];
  const vocab = await loadLlama3Vocab();
  const metadata = buildModelMetadata(
    { shape, fileType: options.type, seed, generatorVersion: MODEL_GENERATOR_VERSION },
    vocab,
  );
  const plan = planTensors(shape, options.type);
  const pool = createQuantizePool(options.threads);
  // Two chunks per worker keep every worker busy while bounding memory (chunks are 4 MiB of f32).
  const inFlight = Math.max(1, 2 * pool.threads);
  const tensors: GgufTensorWrite[] = plan.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: () => tensorChunks(t, seed, pool, inFlight),
  }));
  let bytes = 0;
  try {
    await writeGguf(options.out, metadata, tensors, {
      onProgress: (written, total) => {
        bytes = total;
        options.onProgress?.(written, total);
      },
    });
  } finally {
    await pool.close();
  }
  return { path: options.out, bytes, tensorCount: plan.length, elapsedMs: performance.now() - start };
}
