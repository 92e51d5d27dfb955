/**
 * API keys as the edge stores them: only the SHA-256 of a key is kept, as the KV entry name
 * `key:<hex sha256>`, with a JSON record of who owns it and what it may do. `gearbox keys create`
 * writes these entries; the edge reads them.
 */
import { z } from "zod";
import { sha256Hex, toHex } from "./digest.js";

/** Prefix of every key, so that a leaked key is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = "gbx-";

export const apiKeyRecordSchema = z.object({
  /**
   * The hex SHA-256 of the key, repeated from the entry name: the edge honours a record only for
   * the key it was issued for, even if it was copied under another name by hand.
   */
  hash: z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex SHA-256"),
  name: z.string().min(1),
  /** Model ids the key may use; null means every model. */
  models: z.array(z.string().min(1)).nullable(),
  /** Requests per minute; null means unlimited. */
  rpm: z.int().positive().nullable(),
  /** Tokens (prompt + completion) per minute; null means unlimited. */
  tpm: z.int().positive().nullable(),
  /** Unix seconds. */
  created: z.int(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** A new random key: the prefix and 32 random bytes in hex. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Lower-case hex SHA-256 of a key: what is stored instead of the key. */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** The KV entry name under which the record of a key with this hash lives. */
export function apiKeyStorageName(keyHash: string): string {
  return `key:${keyHash}`;
}
