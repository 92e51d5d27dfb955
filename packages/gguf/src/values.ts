/**
 * GGUF metadata values. Each value keeps its GGUF type so that a file read and written again is
 * byte-identical; numeric arrays are typed arrays (a 128k-entry token_type array stays compact).
 */

/** The on-disk type ids of metadata values (gguf.h `enum gguf_type`). */
export const GgufValueTypeId = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufValueType = keyof typeof GgufValueTypeId;
export type GgufNumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigIntType = "u64" | "i64";

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; value: GgufArray };

export type GgufArray =
  | { itemType: "u8"; items: Uint8Array }
  | { itemType: "i8"; items: Int8Array }
  | { itemType: "u16"; items: Uint16Array }
  | { itemType: "i16"; items: Int16Array }
  | { itemType: "u32"; items: Uint32Array }
  | { itemType: "i32"; items: Int32Array }
  | { itemType: "f32"; items: Float32Array }
  | { itemType: "f64"; items: Float64Array }
  | { itemType: "u64"; items: BigUint64Array }
  | { itemType: "i64"; items: BigInt64Array }
  | { itemType: "bool"; items: boolean[] }
  | { itemType: "string"; items: string[] }
  | { itemType: "array"; items: GgufArray[] };

/** Metadata in file order. */
export type GgufMetadata = Map<string, GgufValue>;

const typeNames = Object.keys(GgufValueTypeId) as GgufValueType[];

/** The name of an on-disk value type id, or undefined when the id is not a GGUF type. */
export function ggufValueTypeName(id: number): GgufValueType | undefined {
  return typeNames.find((name) => GgufValueTypeId[name] === id);
}

/** Bytes of one scalar of a fixed-size type (not string or array). */
export const fixedSizeOf: Readonly<Record<Exclude<GgufValueType, "string" | "array">, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** Constructors for metadata values: `gv.u32(16)`, `gv.strings(["a", "b"])`. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  u64: (value: bigint): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint): GgufValue => ({ type: "i64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  array: (value: GgufArray): GgufValue => ({ type: "array", value }),
  strings: (items: string[]): GgufValue => ({ type: "array", value: { itemType: "string", items } }),
  i32s: (items: Int32Array): GgufValue => ({ type: "array", value: { itemType: "i32", items } }),
};
