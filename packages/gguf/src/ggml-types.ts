/**
 * The ggml tensor types that can appear in a GGUF file: id, name and storage layout (elements per
 * block, bytes per block), as in ggml/include/ggml.h and ggml-common.h. A reader needs the layout of
 * every known type to validate tensor sizes; `quantizable` marks the types this package can also
 * encode and decode (see gguf/quant/).
 */
import { GgufError } from "./errors.js";

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;
export type GgmlTypeId = (typeof GgmlType)[GgmlTypeName];

export interface GgmlTypeInfo {
  id: GgmlTypeId;
  name: GgmlTypeName;
  /** Elements per block (1 for plain types). A row's length (ne0) must be a multiple of it. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** Whether gguf/quant/ can encode and decode this type. */
  quantizable: boolean;
}

const QK_K = 256;
const layouts: Record<GgmlTypeName, [blockSize: number, typeSize: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [QK_K, 84],
  Q3_K: [QK_K, 110],
  Q4_K: [QK_K, 144],
  Q5_K: [QK_K, 176],
  Q6_K: [QK_K, 210],
  Q8_K: [QK_K, 292],
  IQ2_XXS: [QK_K, 66],
  IQ2_XS: [QK_K, 74],
  IQ3_XXS: [QK_K, 98],
  IQ1_S: [QK_K, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [QK_K, 110],
  IQ2_S: [QK_K, 82],
  IQ4_XS: [QK_K, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [QK_K, 56],
  BF16: [1, 2],
  TQ1_0: [QK_K, 54],
  TQ2_0: [QK_K, 66],
  MXFP4: [32, 17],
};

const quantizableTypes: ReadonlySet<GgmlTypeName> = new Set([
  "F32",
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_K",
  "Q6_K",
]);

/** Ids that ggml once used and has since removed; named in errors so a user knows what the file holds. */
const removedTypes: ReadonlyMap<number, string> = new Map([
  [4, "Q4_2"],
  [5, "Q4_3"],
  [31, "Q4_0_4_4"],
  [32, "Q4_0_4_8"],
  [33, "Q4_0_8_8"],
  [36, "IQ4_NL_4_4"],
  [37, "IQ4_NL_4_8"],
  [38, "IQ4_NL_8_8"],
]);

const infoById = new Map<number, GgmlTypeInfo>();
const infoByName = new Map<string, GgmlTypeInfo>();
for (const [name, id] of Object.entries(GgmlType) as [GgmlTypeName, GgmlTypeId][]) {
  const [blockSize, typeSize] = layouts[name];
  const info: GgmlTypeInfo = { id, name, blockSize, typeSize, quantizable: quantizableTypes.has(name) };
  infoById.set(id, info);
  infoByName.set(name, info);
}

/** The layout of a type id, or undefined for ids ggml does not define (or no longer supports). */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return infoById.get(id);
}

/** Like ggmlTypeInfo, but throws an error that names a removed type or the unknown id. */
export function requireGgmlType(id: number, where: string): GgmlTypeInfo {
  const info = infoById.get(id);
  if (info) return info;
  const removed = removedTypes.get(id);
  if (removed !== undefined) {
    throw new GgufError(`${where} has ggml type ${id} (${removed}), which ggml no longer supports`);
  }
  throw new GgufError(`${where} has unknown ggml type id ${id}`);
}

/** Type info by name, case-insensitive ("q8_0", "Q8_0"). */
export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return infoByName.get(name.toUpperCase());
}

/** Bytes of one row of `ne0` elements; ne0 must be a multiple of the type's block size. */
export function rowByteSize(type: GgmlTypeInfo, ne0: number): number {
  if (ne0 % type.blockSize !== 0) {
    throw new GgufError(
      `a row of ${ne0} elements is not a multiple of ${type.name}'s block size ${type.blockSize}`,
    );
  }
  return (ne0 / type.blockSize) * type.typeSize;
}

/** Bytes of a whole tensor with dims [ne0, ne1, ...] (ne0 varies fastest). */
export function tensorByteSize(type: GgmlTypeInfo, dims: readonly number[]): number {
  let rows = 1;
  for (let i = 1; i < dims.length; i++) rows *= dims[i] ?? 1;
  return rowByteSize(type, dims[0] ?? 1) * rows;
}
