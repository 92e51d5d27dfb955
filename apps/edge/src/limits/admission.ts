/**
 * Admission of one request against its key's limits: reserve in the key's RateLimiter, turn the
 * decision into OpenAI's x-ratelimit-* headers (or a 429), and settle with the real usage later.
 */
import { type ApiError, rateLimitExceeded } from "@gearbox/shared";
import type { AuthenticatedKey } from "../auth/api-key-auth.js";
import type { Env } from "../env.js";
import { rateLimitHeaders } from "./rate-limit-headers.js";
import type { Limits } from "./rate-limiter.js";

export interface Admission {
  headers: Record<string, string>;
  /**
   * Replaces what the request is charged (first its reservation) by the tokens really used;
   * undefined keeps it. May be called again: each call replaces the last.
   */
  settle(usedTokens: number | undefined): Promise<void>;
}

const unlimited: Admission = { headers: {}, settle: async () => {} };

export type AdmissionResult =
  | { ok: true; admission: Admission }
  | { ok: false; error: ApiError; headers: Record<string, string> };

/**
 * Reserves one request and `estimateTokens()` tokens for `key`, or says why not (a 429 and the
 * headers to send with it). The estimate is only computed for keys with a token limit.
 */
export async function admit(
  limiters: Env["RATE_LIMITER"],
  key: AuthenticatedKey,
  estimateTokens: () => number,
): Promise<AdmissionResult> {
  const limits: Limits = { rpm: key.rpm, tpm: key.tpm };
  if (limits.rpm === null && limits.tpm === null) return { ok: true, admission: unlimited };
  const limiter = limiters.get(limiters.idFromName(key.hash));
  const decision = await limiter.reserve(limits, limits.tpm === null ? 0 : estimateTokens());
  const headers = rateLimitHeaders(decision.views);
  if (!decision.ok) {
    const limit = decision.exceeded === "requests" ? limits.rpm : limits.tpm;
    const seconds = Math.ceil(decision.retryAfterMs / 1000);
    const error = rateLimitExceeded(
      `Rate limit reached for API key '${key.name}' on ${decision.exceeded} per minute: limit ${limit}. ` +
        `Please try again in ${seconds} s.`,
      decision.retryAfterMs / 1000,
    );
    return { ok: false, error, headers };
  }
  // What the key is charged for this request now: the reservation, then each settlement's usage.
  let charged = decision.reservedTokens;
  return {
    ok: true,
    admission: {
      headers,
      settle: async (used) => {
        if (limits.tpm === null || used === undefined || used === charged) return;
        const before = charged;
        charged = used;
        // A stub of its own: a settlement may run in a later request (a stream that went quiet),
        // and workerd's I/O objects belong to the request that made them.
        await limiters.get(limiters.idFromName(key.hash)).settle(limits, before, used);
      },
    },
  };
}
