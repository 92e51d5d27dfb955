/**
 * Streaming GGUF writer. The header (metadata, tensor infos with their offsets) is computed up
 * front from the tensors' shapes and types; then each tensor's bytes are pulled from its producer
 * chunk by chunk and written, so memory stays bounded by the largest chunk, never a whole tensor.
 * The file is written under a temporary name and renamed into place, so a reader never sees a
 * partial file and an interrupted run leaves nothing at `path`.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { GgufError } from "./errors.js";
import { GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, ggufAlignment } from "./format.js";
import { type GgmlTypeInfo, tensorByteSize } from "./ggml-types.js";
import { HeaderBuilder } from "./header-builder.js";
import type { GgufMetadata } from "./values.js";

export interface GgufTensorSpec {
  name: string;
  /** [ne0, ne1, ...]; ne0 (the row length) must be a multiple of the type's block size. */
  dims: readonly number[];
  type: GgmlTypeInfo;
}

export interface GgufTensorWrite extends GgufTensorSpec {
  /**
   * Produces the tensor's bytes in order, in chunks of any size; together exactly the tensor's byte
   * size. Each yielded chunk must be a fresh buffer (the writer may still be writing the previous
   * one while the next is produced).
   */
  data(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface GgufHeaderOptions {
  /** GGUF version written (default 3). */
  version?: 2 | 3;
}

export interface GgufLayout {
  /** Header bytes including the padding up to the data section. */
  header: Uint8Array;
  alignment: number;
  /** Offset of each tensor relative to the data section, in the order given. */
  offsets: number[];
  byteSizes: number[];
  /** Total bytes of the data section (each tensor padded to the alignment). */
  dataBytes: number;
}

export interface WriteGgufOptions extends GgufHeaderOptions {
  /** Called after each chunk with the bytes written so far and the final file size. */
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function validateSpec(t: GgufTensorSpec, names: Set<string>): number {
  const where = `tensor '${t.name}'`;
  const nameBytes = Buffer.byteLength(t.name);
  if (nameBytes === 0 || nameBytes > GGUF_MAX_TENSOR_NAME_BYTES) {
    throw new GgufError(`${where}: name must be 1 to ${GGUF_MAX_TENSOR_NAME_BYTES} bytes`);
  }
  if (names.has(t.name)) throw new GgufError(`${where} is listed twice`);
  names.add(t.name);
  if (t.dims.length < 1 || t.dims.length > GGUF_MAX_DIMS) {
    throw new GgufError(`${where} has ${t.dims.length} dimensions, expected 1 to ${GGUF_MAX_DIMS}`);
  }
  for (const ne of t.dims) {
    if (!Number.isSafeInteger(ne) || ne < 1) throw new GgufError(`${where} has invalid dimension ${ne}`);
  }
  if ((t.dims[0] as number) % t.type.blockSize !== 0) {
    throw new GgufError(
      `${where}: rows of ${t.dims[0]} elements are not a multiple of ${t.type.name}'s block size ${t.type.blockSize}`,
    );
  }
  return tensorByteSize(t.type, t.dims);
}

/** Encodes the header and computes where every tensor's data goes. */
export function layoutGguf(
  metadata: GgufMetadata,
  tensors: readonly GgufTensorSpec[],
  options: GgufHeaderOptions = {},
): GgufLayout {
  const alignment = ggufAlignment(metadata);

  const names = new Set<string>();
  const byteSizes = tensors.map((t) => validateSpec(t, names));
  const offsets: number[] = [];
  let dataBytes = 0;
  for (const size of byteSizes) {
    offsets.push(dataBytes);
    dataBytes += alignUp(size, alignment);
  }

  const h = new HeaderBuilder();
  h.raw(Buffer.from(GGUF_MAGIC, "latin1"));
  h.u32(options.version ?? 3);
  h.u64(tensors.length);
  h.u64(metadata.size);
  for (const [key, value] of metadata) {
    if (key.length === 0) throw new GgufError("metadata keys must not be empty");
    h.string(key);
    h.value(value, `metadata '${key}'`);
  }
  tensors.forEach((t, i) => {
    h.string(t.name);
    h.u32(t.dims.length);
    for (const ne of t.dims) h.u64(ne);
    h.u32(t.type.id);
    h.u64(offsets[i] as number);
  });
  h.zeros(alignUp(h.length, alignment) - h.length);
  return { header: h.bytes(), alignment, offsets, byteSizes, dataBytes };
}

async function writeAll(file: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await file.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes a complete GGUF file atomically (temporary file + rename). */
export async function writeGguf(
  path: string,
  metadata: GgufMetadata,
  tensors: readonly GgufTensorWrite[],
  options: WriteGgufOptions = {},
): Promise<void> {
  const layout = layoutGguf(metadata, tensors, options);
  const totalBytes = layout.header.length + layout.dataBytes;
  const tmpPath = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const file = await open(tmpPath, "wx");
  let closed = false;
  try {
    let written = 0;
    // One write in flight while the next chunk is produced: disk and CPU overlap.
    let pending: Promise<void> = Promise.resolve();
    const write = async (chunk: Uint8Array) => {
      await pending;
      pending = writeAll(file, chunk, written);
      pending.catch(() => {}); // observed by the next `await pending`; keeps it from counting as unhandled
      written += chunk.length;
      options.onProgress?.(written, totalBytes);
    };
    await write(layout.header);
    for (const [i, t] of tensors.entries()) {
      const expected = layout.byteSizes[i] as number;
      let produced = 0;
      for await (const chunk of t.data()) {
        produced += chunk.length;
        if (produced > expected) {
          throw new GgufError(`tensor '${t.name}' produced more than its ${expected} bytes`);
        }
        await write(chunk);
      }
      if (produced !== expected)
        throw new GgufError(`tensor '${t.name}' produced ${produced} bytes, expected ${expected}`);
      const padding = alignUp(expected, layout.alignment) - expected;
      if (padding > 0) await write(new Uint8Array(padding));
    }
    await pending;
    await file.sync();
    await file.close();
    closed = true;
    await rename(tmpPath, path);
  } catch (err) {
    if (!closed) await file.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
}
