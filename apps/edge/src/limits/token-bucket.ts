/**
 * A token bucket per limit: it holds at most `perMinute` units and refills continuously at
 * `perMinute / 60 s`, so a key may burst its whole minute at once and then runs at the average
 * rate. The level may go below zero when a request used more tokens than were reserved for it;
 * later requests then wait until the debt is paid off.
 */

export interface Bucket {
  level: number;
  updatedMs: number;
}

export interface BucketView {
  /** Units that may be taken now, never below zero. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

const MINUTE_MS = 60_000;

/** A full bucket, as a key starts. */
export function fullBucket(perMinute: number, nowMs: number): Bucket {
  return { level: perMinute, updatedMs: nowMs };
}

/** The bucket refilled up to `nowMs`. */
export function refill(bucket: Bucket, perMinute: number, nowMs: number): Bucket {
  const elapsed = Math.max(0, nowMs - bucket.updatedMs);
  return { level: Math.min(perMinute, bucket.level + (elapsed * perMinute) / MINUTE_MS), updatedMs: nowMs };
}

/** Milliseconds until `amount` units are available (0 when they are now). */
export function waitMs(bucket: Bucket, perMinute: number, amount: number): number {
  const missing = Math.min(amount, perMinute) - bucket.level;
  return missing <= 0 ? 0 : Math.ceil((missing * MINUTE_MS) / perMinute);
}

export function view(bucket: Bucket, perMinute: number): BucketView {
  return {
    remaining: Math.max(0, Math.floor(bucket.level)),
    resetMs: Math.ceil(((perMinute - bucket.level) * MINUTE_MS) / perMinute),
  };
}
