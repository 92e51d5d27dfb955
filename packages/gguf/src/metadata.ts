/**
 * Typed access to GGUF metadata: a value that is present with the wrong type is an error naming the
 * key, never silently coerced.
 */
import { GgufError } from "./errors.js";
import type { GgufArray, GgufMetadata, GgufValue } from "./values.js";

function describe(value: GgufValue): string {
  return value.type === "array" ? `array of ${value.value.itemType}` : value.type;
}

function wrongType(key: string, value: GgufValue, expected: string): GgufError {
  return new GgufError(`metadata '${key}' is ${describe(value)}, expected ${expected}`);
}

function missing(key: string): GgufError {
  return new GgufError(`metadata '${key}' is missing`);
}

/** A string value, or undefined when the key is absent. */
export function metaString(meta: GgufMetadata, key: string): string | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "string") throw wrongType(key, v, "string");
  return v.value;
}

export function requireString(meta: GgufMetadata, key: string): string {
  const v = metaString(meta, key);
  if (v === undefined) throw missing(key);
  return v;
}

/** An integer of any width (u64/i64 must fit a JS safe integer), or undefined when absent. */
export function metaInteger(meta: GgufMetadata, key: string): number | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  switch (v.type) {
    case "u8":
    case "i8":
    case "u16":
    case "i16":
    case "u32":
    case "i32":
      return v.value;
    case "u64":
    case "i64":
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new GgufError(`metadata '${key}' = ${v.value} is too large`);
      }
      return Number(v.value);
    default:
      throw wrongType(key, v, "an integer");
  }
}

export function requireInteger(meta: GgufMetadata, key: string): number {
  const v = metaInteger(meta, key);
  if (v === undefined) throw missing(key);
  return v;
}

/** A float (f32 or f64), or undefined when absent. */
export function metaFloat(meta: GgufMetadata, key: string): number | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "f32" && v.type !== "f64") throw wrongType(key, v, "a float");
  return v.value;
}

export function requireFloat(meta: GgufMetadata, key: string): number {
  const v = metaFloat(meta, key);
  if (v === undefined) throw missing(key);
  return v;
}

export function metaBool(meta: GgufMetadata, key: string): boolean | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "bool") throw wrongType(key, v, "bool");
  return v.value;
}

/** An array value, or undefined when absent. */
export function metaArray(meta: GgufMetadata, key: string): GgufArray | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "array") throw wrongType(key, v, "an array");
  return v.value;
}

export function requireStringArray(meta: GgufMetadata, key: string): string[] {
  const a = metaArray(meta, key);
  if (a === undefined) throw missing(key);
  if (a.itemType !== "string")
    throw new GgufError(`metadata '${key}' is an array of ${a.itemType}, expected strings`);
  return a.items;
}

/** An array of integers of any 8/16/32-bit type, as numbers; undefined when absent. */
export function metaIntegerArray(
  meta: GgufMetadata,
  key: string,
): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | undefined {
  const a = metaArray(meta, key);
  if (a === undefined) return undefined;
  switch (a.itemType) {
    case "u8":
    case "i8":
    case "u16":
    case "i16":
    case "u32":
    case "i32":
      return a.items;
    default:
      throw new GgufError(`metadata '${key}' is an array of ${a.itemType}, expected integers`);
  }
}
