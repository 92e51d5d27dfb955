/**
 * The Durable Object that holds one API key's request and token budgets. One instance per key
 * (named by the key's hash) serializes every decision for that key, wherever the requests arrive.
 * The limits travel with each call, so a changed key record applies at once.
 */
import { DurableObject } from "cloudflare:workers";
import type { LimitViews } from "./rate-limit-headers.js";
import { type Bucket, fullBucket, refill, view, waitMs } from "./token-bucket.js";

export interface Limits {
  /** Requests per minute; null is unlimited. */
  rpm: number | null;
  /** Tokens per minute; null is unlimited. */
  tpm: number | null;
}

export type Reservation =
  | { ok: true; reservedTokens: number; views: LimitViews }
  | { ok: false; exceeded: "requests" | "tokens"; retryAfterMs: number; views: LimitViews };

interface Buckets {
  requests?: Bucket;
  tokens?: Bucket;
}

const STORAGE_KEY = "buckets";

export class RateLimiter extends DurableObject<unknown> {
  private buckets: Buckets;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.buckets = ctx.storage.kv.get<Buckets>(STORAGE_KEY) ?? {};
  }

  /**
   * Takes one request and `tokens` (the estimate for this request, capped at the per-minute limit
   * so that a large request waits for a full bucket instead of never running) — or nothing.
   */
  reserve(limits: Limits, tokens: number): Reservation {
    const { requests, tokens: tokenBucket } = this.refilled(limits);
    const needTokens = limits.tpm === null ? 0 : Math.min(Math.max(0, tokens), limits.tpm);
    const requestWait = requests && limits.rpm !== null ? waitMs(requests, limits.rpm, 1) : 0;
    const tokenWait = tokenBucket && limits.tpm !== null ? waitMs(tokenBucket, limits.tpm, needTokens) : 0;
    if (requestWait > 0 || tokenWait > 0) {
      return {
        ok: false,
        exceeded: requestWait >= tokenWait ? "requests" : "tokens",
        retryAfterMs: Math.max(requestWait, tokenWait),
        views: this.views(limits),
      };
    }
    if (requests) requests.level -= 1;
    if (tokenBucket) tokenBucket.level -= needTokens;
    return { ok: true, reservedTokens: needTokens, views: this.views(limits) };
  }

  /** Replaces a request's reservation by the tokens it really used (from the usage chunk). */
  settle(limits: Limits, reservedTokens: number, usedTokens: number): void {
    const { tokens } = this.refilled(limits);
    if (!tokens || limits.tpm === null) return;
    tokens.level = Math.min(limits.tpm, tokens.level + reservedTokens - usedTokens);
    if (tokens.level < 0) this.save();
  }

  private refilled(limits: Limits): Buckets {
    const now = Date.now();
    const update = (bucket: Bucket | undefined, perMinute: number | null): Bucket | undefined =>
      perMinute === null ? undefined : refill(bucket ?? fullBucket(perMinute, now), perMinute, now);
    this.buckets = {
      requests: update(this.buckets.requests, limits.rpm),
      tokens: update(this.buckets.tokens, limits.tpm),
    };
    return this.buckets;
  }

  private views(limits: Limits): LimitViews {
    const views: LimitViews = {};
    if (this.buckets.requests && limits.rpm !== null) {
      views.requests = { limit: limits.rpm, ...view(this.buckets.requests, limits.rpm) };
    }
    if (this.buckets.tokens && limits.tpm !== null) {
      views.tokens = { limit: limits.tpm, ...view(this.buckets.tokens, limits.tpm) };
    }
    return views;
  }

  /**
   * The buckets live in memory. An object is only evicted after idling longer than a bucket takes
   * to refill, so storing every decision (a storage commit, milliseconds per request) would buy
   * nothing — except for a debt (a request that used far more than it reserved), which may take
   * longer than the idle time to repay: that is stored, and restored by the constructor. Levels
   * carry their time, so a restored bucket refills by the time that passed.
   */
  private save(): void {
    this.ctx.storage.kv.put(STORAGE_KEY, this.buckets);
  }
}
