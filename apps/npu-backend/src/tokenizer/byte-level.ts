/**
 * GPT-2's byte-level alphabet, used by Llama 3's vocabulary: each byte maps to one printable
 * character (printable Latin-1 bytes to themselves, the rest to U+0100 and up), so every token's
 * bytes can be stored as a string. Tokens in a GGUF file are in this form.
 */

/** Character code for each byte 0..255. */
const BYTE_TO_CHAR: readonly number[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<number>(256);
  for (const b of printable) table[b] = b;
  let next = 256;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = next++;
  }
  return table;
})();

/** Byte for each character code of the alphabet, -1 elsewhere (the alphabet ends below U+0144). */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    table[c] = b;
  });
  return table;
})();

/**
 * Writes the bytes a byte-level token string stands for into `out` at `offset`; returns how many,
 * or -1 if the string has a character outside the alphabet. `out` needs room for text.length bytes.
 */
export function decodeByteLevel(text: string, out: Uint8Array, offset: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? (CHAR_TO_BYTE[c] as number) : -1;
    if (b < 0) return -1;
    out[offset + i] = b;
  }
  return text.length;
}
