/**
 * Edge → backend request signing. The edge signs every upstream request with a secret shared with
 * the backends; a backend accepts only requests signed recently with that secret, so a backend
 * port reachable by others does not become an open, unmetered API.
 *
 *   x-gearbox-timestamp: <unix seconds>
 *   x-gearbox-signature: v1=<hex HMAC-SHA256(secret, signingString)>
 *   signingString = `${METHOD}\n${path+query}\n${timestamp}\n${hex SHA-256(body bytes)}`
 *                   + `\n${name}:${value}` for each directive header present, in DIRECTIVE_HEADERS order
 *
 * The directive headers carry the edge's decisions about a key (its model allow-list, the
 * completion budget it reserved for): they are signed so that nobody between the edge and a backend
 * can widen them. A request without them signs exactly as before.
 */
import { bodyBytes, fromHex, sha256Hex, toHex } from "./digest.js";

export const TIMESTAMP_HEADER = "x-gearbox-timestamp";
export const SIGNATURE_HEADER = "x-gearbox-signature";
/** A signature older (or newer) than this many seconds is rejected as stale. */
export const MAX_SIGNATURE_SKEW_SECONDS = 60;

/** Per-choice completion-token cap the edge reserved the key's token budget for. */
export const MAX_TOKENS_HEADER = "x-gearbox-max-tokens";
/** The key's model allow-list (comma-separated), sent with `model: "auto"` so the router keeps to it. */
export const ALLOWED_MODELS_HEADER = "x-gearbox-allowed-models";
/**
 * A random value per request (the edge sends one with every request): with it, two equal requests
 * signed in the same second still differ, so a backend can refuse any signature it has seen before
 * (a replay) without refusing a legitimate repeat.
 */
export const NONCE_HEADER = "x-gearbox-nonce";
/** Headers the signature covers when present, in signing order. */
export const DIRECTIVE_HEADERS = [MAX_TOKENS_HEADER, ALLOWED_MODELS_HEADER, NONCE_HEADER] as const;
export type DirectiveHeaders = Partial<Record<(typeof DIRECTIVE_HEADERS)[number], string>>;

/** The parts of a request that the signature covers. */
export interface SignedParts {
  method: string;
  /** Path and query exactly as sent, e.g. `/v1/chat/completions?x=1`. */
  pathAndQuery: string;
  /** The body bytes exactly as sent (text is taken as UTF-8); null or absent for no body. */
  body?: Uint8Array | ArrayBuffer | string | null;
  /** Directive headers sent with the request (absent ones are not signed). */
  directives?: DirectiveHeaders;
}

export interface SignatureHeaders {
  "x-gearbox-timestamp": string;
  "x-gearbox-signature": string;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

const encoder = new TextEncoder();

/** The text that is signed (exported so that other implementations can be checked against it). */
export async function signingString(parts: SignedParts, timestamp: number): Promise<string> {
  const bodyHash = await sha256Hex(bodyBytes(parts.body));
  let text = `${parts.method.toUpperCase()}\n${parts.pathAndQuery}\n${timestamp}\n${bodyHash}`;
  for (const name of DIRECTIVE_HEADERS) {
    const value = parts.directives?.[name];
    if (value !== undefined) text += `\n${name}:${value}`;
  }
  return text;
}

/**
 * Signature headers for one request.
 * @example const headers = await signRequest(env.GEARBOX_UPSTREAM_SECRET, { method: "POST", pathAndQuery: "/v1/chat/completions", body });
 */
export async function signRequest(
  secret: string,
  parts: SignedParts,
  timestamp: number = Math.floor(Date.now() / 1000),
): Promise<SignatureHeaders> {
  const key = await hmacKey(secret, "sign");
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(await signingString(parts, timestamp)));
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `v1=${toHex(mac)}` };
}

/**
 * Checks the signature headers of a received request. `nowSeconds` defaults to the clock.
 * The MAC is compared by `crypto.subtle.verify`, which compares in constant time.
 */
export async function verifySignature(
  secret: string,
  parts: SignedParts & { timestamp: string | null | undefined; signature: string | null | undefined },
  options: { nowSeconds?: number; maxSkewSeconds?: number } = {},
): Promise<VerifyResult> {
  if (!parts.timestamp || !parts.signature) {
    return { ok: false, reason: `missing ${parts.timestamp ? SIGNATURE_HEADER : TIMESTAMP_HEADER} header` };
  }
  if (!/^\d{1,15}$/.test(parts.timestamp)) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} is not a unix time in seconds` };
  }
  const timestamp = Number(parts.timestamp);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const maxSkew = options.maxSkewSeconds ?? MAX_SIGNATURE_SKEW_SECONDS;
  if (Math.abs(now - timestamp) > maxSkew) {
    return {
      ok: false,
      reason: `stale signature: timestamp is ${now - timestamp} s from now (limit ${maxSkew} s)`,
    };
  }
  const match = /^v1=([0-9a-f]{64})$/.exec(parts.signature);
  const mac = match?.[1] ? fromHex(match[1]) : undefined;
  if (!mac) return { ok: false, reason: `${SIGNATURE_HEADER} is not of the form v1=<64 hex digits>` };
  const key = await hmacKey(secret, "verify");
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    encoder.encode(await signingString(parts, timestamp)),
  );
  return valid ? { ok: true } : { ok: false, reason: "signature does not match" };
}

function hmacKey(secret: string, usage: "sign" | "verify") {
  if (secret.length === 0) throw new Error("the upstream signing secret is empty");
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}
