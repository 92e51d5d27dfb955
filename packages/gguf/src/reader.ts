/**
 * GGUF reader (versions 2 and 3, little-endian): metadata and tensor infos, validated completely
 * against the file size and the ggml type layouts. Tensor data is not read; each tensor's absolute
 * file offset and byte size are returned for whoever maps or streams it.
 *
 * Layout (gguf.h): magic "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata
 * entries (string key, u32 type, value), tensor infos (string name, u32 n_dims, u64 dims[n_dims],
 * u32 ggml type, u64 offset relative to the data section), padding to `general.alignment`
 * (default 32), tensor data.
 */
import { type ByteSource, bufferSource, openFileSource } from "./byte-source.js";
import { GgufError } from "./errors.js";
import { GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, ggufAlignment } from "./format.js";
import { type GgmlTypeInfo, requireGgmlType } from "./ggml-types.js";
import { HeaderCursor, type What, whatText } from "./header-cursor.js";
import {
  type GgufArray,
  type GgufMetadata,
  type GgufValue,
  type GgufValueType,
  ggufValueTypeName,
} from "./values.js";

/** Nested arrays deeper than this are rejected (nothing real nests at all; this bounds recursion). */
const MAX_ARRAY_DEPTH = 8;

export interface GgufTensorInfo {
  name: string;
  /** [ne0, ne1, ...]: ne0 is the row length, the fastest-varying dimension. */
  dims: number[];
  type: GgmlTypeInfo;
  /** Offset relative to the start of the data section, as stored in the file. */
  offset: number;
  /** Absolute offset of the first byte in the file. */
  fileOffset: number;
  byteSize: number;
  elementCount: number;
}

export interface GgufFile {
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

/** Reads the header of a GGUF file (synchronously; only the header's bytes are read). */
export function readGguf(path: string): GgufFile {
  const source = openFileSource(path);
  try {
    return parseGguf(source);
  } finally {
    source.close();
  }
}

/** Parses GGUF bytes already in memory. */
export function parseGgufBuffer(bytes: Uint8Array, name?: string): GgufFile {
  return parseGguf(bufferSource(bytes, name));
}

export function parseGguf(source: ByteSource): GgufFile {
  try {
    return parse(new HeaderCursor(source));
  } catch (err) {
    if (err instanceof GgufError && source.name !== undefined) {
      err.message = `${err.message} (in ${source.name})`;
    }
    throw err;
  }
}

// Smallest possible encodings, used to bound counts before allocating anything.
const MIN_STRING_BYTES = 8;
const MIN_KV_BYTES = MIN_STRING_BYTES + 4 + 1;
const MIN_TENSOR_INFO_BYTES = MIN_STRING_BYTES + 4 + 8 + 4 + 8;
const MIN_ARRAY_BYTES = 4 + 8;

function parse(c: HeaderCursor): GgufFile {
  const magicBytes = c.bytes(4, "the magic number");
  const magic = Buffer.from(magicBytes).toString("latin1");
  if (magic !== GGUF_MAGIC) {
    throw new GgufError(`not a GGUF file: magic is ${JSON.stringify(magic)}, expected "GGUF"`);
  }
  const version = c.u32("the version");
  if (version === 1) throw new GgufError("GGUF version 1 is not supported (only versions 2 and 3)");
  if (version !== 2 && version !== 3) {
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32BE(version);
    const hint =
      swapped.readUInt32LE() <= 3 ? " (the file looks big-endian; only little-endian is supported)" : "";
    throw new GgufError(`unsupported version ${version}${hint}`);
  }
  const tensorCount = c.count("the tensor count", MIN_TENSOR_INFO_BYTES);
  const kvCount = c.count("the metadata count", MIN_KV_BYTES);

  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos;
    const key = c.string(() => `the key of metadata entry ${i}`);
    if (key.length === 0) throw new GgufError(`metadata entry ${i} at offset ${keyAt} has an empty key`);
    if (metadata.has(key)) throw new GgufError(`metadata key '${key}' at offset ${keyAt} appears twice`);
    metadata.set(key, readValue(c, `metadata '${key}'`));
  }

  const alignment = ggufAlignment(metadata);

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) tensors.push(readTensorInfo(c, i, names));

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  validateTensorData(tensors, dataOffset, alignment, c.size);
  return { version, metadata, tensors, alignment, dataOffset, fileSize: c.size };
}

function readValueType(c: HeaderCursor, what: What): GgufValueType {
  const at = c.pos;
  const id = c.u32(what);
  const name = ggufValueTypeName(id);
  if (name === undefined) {
    throw new GgufError(`${whatText(what)} at offset ${at} has unknown value type ${id}`);
  }
  return name;
}

function readValue(c: HeaderCursor, where: string): GgufValue {
  const type = readValueType(c, `the type of ${where}`);
  switch (type) {
    case "u8":
      return { type, value: c.u8(where) };
    case "i8":
      return { type, value: (c.u8(where) << 24) >> 24 };
    case "u16":
      return { type, value: c.u16(where) };
    case "i16":
      return { type, value: c.i16(where) };
    case "u32":
      return { type, value: c.u32(where) };
    case "i32":
      return { type, value: c.i32(where) };
    case "f32":
      return { type, value: c.f32(where) };
    case "f64":
      return { type, value: c.f64(where) };
    case "u64":
      return { type, value: c.u64(where) };
    case "i64":
      return { type, value: c.i64(where) };
    case "bool":
      return { type, value: readBool(c, where) };
    case "string":
      return { type, value: c.string(where) };
    case "array":
      return { type, value: readArray(c, where, 1) };
  }
}

function readBool(c: HeaderCursor, what: What): boolean {
  const at = c.pos;
  const b = c.u8(what);
  if (b > 1) throw new GgufError(`${whatText(what)} at offset ${at} is bool ${b}, expected 0 or 1`);
  return b === 1;
}

function readArray(c: HeaderCursor, where: string, depth: number): GgufArray {
  if (depth > MAX_ARRAY_DEPTH) throw new GgufError(`${where} nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const itemType = readValueType(c, `the item type of ${where}`);
  const countWhat = `the item count of ${where}`;
  switch (itemType) {
    case "u8":
      return { itemType, items: new Uint8Array(numericItems(c, countWhat, where, 1)) };
    case "i8":
      return { itemType, items: new Int8Array(numericItems(c, countWhat, where, 1)) };
    case "u16":
      return { itemType, items: new Uint16Array(numericItems(c, countWhat, where, 2)) };
    case "i16":
      return { itemType, items: new Int16Array(numericItems(c, countWhat, where, 2)) };
    case "u32":
      return { itemType, items: new Uint32Array(numericItems(c, countWhat, where, 4)) };
    case "i32":
      return { itemType, items: new Int32Array(numericItems(c, countWhat, where, 4)) };
    case "f32":
      return { itemType, items: new Float32Array(numericItems(c, countWhat, where, 4)) };
    case "f64":
      return { itemType, items: new Float64Array(numericItems(c, countWhat, where, 8)) };
    case "u64":
      return { itemType, items: new BigUint64Array(numericItems(c, countWhat, where, 8)) };
    case "i64":
      return { itemType, items: new BigInt64Array(numericItems(c, countWhat, where, 8)) };
    case "bool": {
      const n = c.count(countWhat, 1);
      const items: boolean[] = new Array(n);
      let i = 0;
      const what = () => `item ${i} of ${where}`;
      for (; i < n; i++) items[i] = readBool(c, what);
      return { itemType, items };
    }
    case "string": {
      const n = c.count(countWhat, MIN_STRING_BYTES);
      const items: string[] = new Array(n);
      let i = 0;
      const what = () => `item ${i} of ${where}`;
      for (; i < n; i++) items[i] = c.string(what);
      return { itemType, items };
    }
    case "array": {
      const n = c.count(countWhat, MIN_ARRAY_BYTES);
      const items: GgufArray[] = new Array(n);
      for (let i = 0; i < n; i++) items[i] = readArray(c, `item ${i} of ${where}`, depth + 1);
      return { itemType, items };
    }
  }
}

/** Reads a count and that many fixed-size items into a fresh ArrayBuffer (typed arrays need alignment). */
function numericItems(c: HeaderCursor, countWhat: string, where: string, itemBytes: number): ArrayBuffer {
  const n = c.count(countWhat, itemBytes);
  return c.bytes(n * itemBytes, `the items of ${where}`).buffer as ArrayBuffer;
}

function readTensorInfo(c: HeaderCursor, index: number, names: Set<string>): GgufTensorInfo {
  const nameAt = c.pos;
  const name = c.string(`the name of tensor ${index}`);
  const where = `tensor '${name}'`;
  const nameBytes = Buffer.byteLength(name);
  if (nameBytes === 0) throw new GgufError(`tensor ${index} at offset ${nameAt} has an empty name`);
  if (nameBytes > GGUF_MAX_TENSOR_NAME_BYTES) {
    throw new GgufError(
      `${where} at offset ${nameAt}: name is ${nameBytes} bytes, the limit is ${GGUF_MAX_TENSOR_NAME_BYTES}`,
    );
  }
  if (names.has(name)) throw new GgufError(`${where} at offset ${nameAt} appears twice`);
  names.add(name);

  const nDimsAt = c.pos;
  const nDims = c.u32(`the dimension count of ${where}`);
  if (nDims < 1 || nDims > GGUF_MAX_DIMS) {
    throw new GgufError(
      `${where} at offset ${nDimsAt} has ${nDims} dimensions, expected 1 to ${GGUF_MAX_DIMS}`,
    );
  }
  const dims: number[] = [];
  let elementCount = 1;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const ne = c.u64Number(`dimension ${d} of ${where}`);
    if (ne === 0) throw new GgufError(`${where} at offset ${dimAt} has dimension ${d} of size 0`);
    elementCount *= ne;
    if (elementCount > Number.MAX_SAFE_INTEGER) {
      throw new GgufError(`${where} at offset ${dimAt} has more elements than any file can hold`);
    }
    dims.push(ne);
  }
  const type = requireGgmlType(c.u32(`the type of ${where}`), where);
  const ne0 = dims[0] as number;
  if (ne0 % type.blockSize !== 0) {
    throw new GgufError(
      `${where} of type ${type.name} has rows of ${ne0} elements, not a multiple of the block size ${type.blockSize}`,
    );
  }
  const offset = c.u64Number(`the data offset of ${where}`);
  const byteSize = (elementCount / type.blockSize) * type.typeSize;
  return { name, dims, type, offset, fileOffset: 0, byteSize, elementCount };
}

function validateTensorData(
  tensors: GgufTensorInfo[],
  dataOffset: number,
  alignment: number,
  fileSize: number,
): void {
  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      throw new GgufError(
        `tensor '${t.name}' data offset ${t.offset} is not a multiple of the alignment ${alignment}`,
      );
    }
    t.fileOffset = dataOffset + t.offset;
    if (t.fileOffset + t.byteSize > fileSize) {
      throw new GgufError(
        `tensor '${t.name}' data [offset ${t.fileOffset}, ${t.byteSize} bytes] runs past end of file (size ${fileSize})`,
      );
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1] as GgufTensorInfo;
    const cur = byOffset[i] as GgufTensorInfo;
    if (prev.offset + prev.byteSize > cur.offset) {
      throw new GgufError(
        `tensor '${cur.name}' data at offset ${cur.fileOffset} overlaps tensor '${prev.name}'`,
      );
    }
  }
}
