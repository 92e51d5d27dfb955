/** OpenAI's x-ratelimit-* response headers, from the state of a key's budgets. */
import type { BucketView } from "./token-bucket.js";

/** The state of each limited budget after a decision. */
export interface LimitViews {
  requests?: BucketView & { limit: number };
  tokens?: BucketView & { limit: number };
}

/** The headers for each limited budget; reset times as durations like `1s`, `6m0s`, `250ms`. */
export function rateLimitHeaders(views: LimitViews): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const view = views[kind];
    if (!view) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(view.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(view.remaining);
    headers[`x-ratelimit-reset-${kind}`] = formatDuration(view.resetMs);
  }
  return headers;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = Math.ceil(ms / 100) / 10;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Math.round((seconds - minutes * 60) * 10) / 10}s`;
}
