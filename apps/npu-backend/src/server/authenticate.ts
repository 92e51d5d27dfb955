/**
 * Who may call the backend. A request passes with a valid edge signature (HMAC over method, path,
 * timestamp and body; see signing in @gearbox/shared), or with one of the backend's own API keys
 * (`Authorization: Bearer KEY`, checked by Hono's bearerAuth), or — only in open local mode with no
 * keys configured — with nothing. A bad signature is refused even when a key would do: it means a
 * misconfigured or forged edge.
 */
import {
  DIRECTIVE_HEADERS,
  type DirectiveHeaders,
  invalidApiKey,
  MAX_SIGNATURE_SKEW_SECONDS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from "@gearbox/shared";
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./app-env.js";
import { ReplayGuard } from "./replay-guard.js";

export interface AuthSettings {
  /** The secret shared with the edge; undefined = signatures are not accepted. */
  upstreamSecret: string | undefined;
  apiKeys: readonly string[];
  /** Accept requests that carry nothing (loopback only; the CLI enforces that). */
  open: boolean;
}

export function authenticate(settings: AuthSettings): MiddlewareHandler<AppEnv> {
  const bearer =
    settings.apiKeys.length > 0 ? bearerAuth<AppEnv>({ token: [...settings.apiKeys] }) : undefined;
  const replays = new ReplayGuard(MAX_SIGNATURE_SKEW_SECONDS);
  return async (c, next) => {
    const signature = c.req.header(SIGNATURE_HEADER);
    if (settings.upstreamSecret !== undefined && signature !== undefined) {
      const url = new URL(c.req.url);
      const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
      const directives: DirectiveHeaders = {};
      for (const name of DIRECTIVE_HEADERS) {
        const value = c.req.header(name);
        if (value !== undefined) directives[name] = value;
      }
      const verdict = await verifySignature(settings.upstreamSecret, {
        method: c.req.method,
        pathAndQuery: url.pathname + url.search,
        body: hasBody ? new Uint8Array(await c.req.arrayBuffer()) : null,
        directives,
        timestamp: c.req.header(TIMESTAMP_HEADER),
        signature,
      });
      if (!verdict.ok) throw invalidApiKey(`The request signature was rejected: ${verdict.reason}.`);
      if (!replays.firstUse(signature, Number(c.req.header(TIMESTAMP_HEADER)))) {
        throw invalidApiKey("The request signature was rejected: it was already used (a replayed request).");
      }
      return next();
    }
    if (bearer) {
      try {
        await bearer(c, async () => {});
      } catch (error) {
        if (error instanceof HTTPException) throw invalidApiKey();
        throw error;
      }
      return next();
    }
    if (settings.open) return next();
    throw invalidApiKey(
      settings.upstreamSecret === undefined
        ? "This backend accepts no requests: configure auth.upstreamSecret, auth.apiKeys or open mode."
        : "This backend accepts only requests signed by the gearbox edge (x-gearbox-signature).",
    );
  };
}
