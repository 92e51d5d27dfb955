/**
 * Key records this isolate has read recently. Without it every request waits for a KV read; with
 * it a revoked key keeps working at most `ttlMs` longer than KV's own cache already allows.
 * A record's age counts from when it was read, never renewed by use: a key used more often than
 * the TTL must still expire, or revocation and limit changes would never apply in a busy isolate.
 * Only found keys are kept (unknown keys would let anyone fill the memory), and at most
 * `maxEntries`, dropping the oldest.
 */
import type { ApiKeyRecord } from "@gearbox/shared";

export class KeyCache {
  private readonly entries = new Map<string, { record: ApiKeyRecord; expiresMs: number }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached record, or `read()`'s (cached if found). */
  async lookup(
    hash: string,
    read: () => Promise<ApiKeyRecord | undefined>,
  ): Promise<ApiKeyRecord | undefined> {
    const cached = this.get(hash);
    if (cached) return cached;
    const record = await read();
    if (record) this.set(hash, record);
    return record;
  }

  get(hash: string): ApiKeyRecord | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresMs <= this.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.record;
  }

  set(hash: string, record: ApiKeyRecord): void {
    this.entries.delete(hash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { record, expiresMs: this.now() + this.ttlMs });
  }
}
