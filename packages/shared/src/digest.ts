/** SHA-256 and hex helpers over Web Crypto, which both workerd and Node 20 provide as `crypto.subtle`. */

const encoder = new TextEncoder();

/** Bytes of a body given as text (UTF-8), bytes, or nothing. */
export function bodyBytes(body: Uint8Array | ArrayBuffer | string | null | undefined): Uint8Array {
  if (body === null || body === undefined) return new Uint8Array(0);
  if (typeof body === "string") return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

/** Lower-case hex SHA-256 of the given bytes or UTF-8 text. */
export async function sha256Hex(data: Uint8Array | ArrayBuffer | string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bodyBytes(data)));
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = "";
  for (const byte of view) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Bytes of a lower- or upper-case hex string, or undefined when it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
