/** Requests to a backend: URL joined from its base, signed with the shared secret (see signing in @gearbox/shared). */
import { type DirectiveHeaders, NONCE_HEADER, signRequest } from "@gearbox/shared";

export interface UpstreamCall {
  method: "GET" | "POST";
  path: string;
  body?: Uint8Array;
  headers?: Record<string, string>;
  /** Sent as headers and covered by the signature. */
  directives?: DirectiveHeaders;
  signal?: AbortSignal;
}

/** Sends one signed request to the backend at `baseUrl` (which may carry a path prefix). */
export async function signedFetch(baseUrl: string, secret: string, call: UpstreamCall): Promise<Response> {
  const url = new URL(baseUrl + call.path);
  // The nonce makes every signature unique: backends refuse one they have already seen.
  const directives: DirectiveHeaders = { ...call.directives, [NONCE_HEADER]: crypto.randomUUID() };
  const signature = await signRequest(secret, {
    method: call.method,
    pathAndQuery: url.pathname + url.search,
    body: call.body ?? null,
    directives,
  });
  return fetch(url, {
    method: call.method,
    headers: { ...call.headers, ...directives, ...signature },
    body: call.body ?? null,
    signal: call.signal ?? null,
  });
}
