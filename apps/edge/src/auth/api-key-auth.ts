/**
 * API key check. OpenAI clients send `Authorization: Bearer <key>`, Anthropic-style clients and
 * some gateways `x-api-key: <key>`; Hono's bearerAuth reads one header and answers in its own
 * format, so this small middleware reads either and answers in the OpenAI error format.
 *
 * Keys are stored only as their SHA-256 (KV entry `key:<hash>`). A record is honoured only when
 * the hash it was issued for equals the presented key's hash, compared in constant time.
 */
import {
  type ApiKeyRecord,
  apiKeyRecordSchema,
  apiKeyStorageName,
  hashApiKey,
  invalidApiKey,
} from "@gearbox/shared";
import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import type { EdgeEnv } from "../env.js";
import type { KeyCache } from "./key-cache.js";

export type AuthenticatedKey = ApiKeyRecord;

/** KV may serve a key record from its edge cache this long (60 s is KV's minimum). */
const KV_CACHE_TTL_SECONDS = 60;

export function apiKeyAuth(cache: KeyCache): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const presented = presentedKey(c.req.header("authorization"), c.req.header("x-api-key"));
    if (!presented) {
      throw invalidApiKey(
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
      );
    }
    const hash = await hashApiKey(presented);
    const record = await cache.lookup(hash, () => readRecord(c.env.API_KEYS, hash));
    if (!record || !(await timingSafeEqual(record.hash, hash)))
      throw invalidApiKey("Incorrect API key provided.");
    c.set("apiKey", record);
    await next();
  };
}

function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? (xApiKey?.trim() || undefined);
}

async function readRecord(keys: KVNamespace, hash: string): Promise<ApiKeyRecord | undefined> {
  const name = apiKeyStorageName(hash);
  const stored = await keys.get(name, { type: "json", cacheTtl: KV_CACHE_TTL_SECONDS });
  if (stored === null) return undefined;
  const record = apiKeyRecordSchema.safeParse(stored);
  if (!record.success) console.error(`gearbox edge: malformed key record ${name}: ${record.error.message}`);
  return record.success ? record.data : undefined;
}
