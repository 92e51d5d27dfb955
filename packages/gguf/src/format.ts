/** Constants and rules of the GGUF container format shared by the reader and the writer (gguf.h, ggml.h). */
import { GgufError } from "./errors.js";
import type { GgufMetadata } from "./values.js";

export const GGUF_MAGIC = "GGUF";
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME counts the terminating NUL, so tensor names hold at most 63 bytes. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

/** The data alignment a file declares: `general.alignment` (a u32 power of two) or the default. */
export function ggufAlignment(metadata: GgufMetadata): number {
  const v = metadata.get("general.alignment");
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== "u32") throw new GgufError(`metadata 'general.alignment' is ${v.type}, expected u32`);
  if (v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new GgufError(`metadata 'general.alignment' is ${v.value}, expected a power of two`);
  }
  return v.value;
}
