/**
 * Streams this isolate relays whose token budget is not settled yet. workerd runs no code of ours
 * when a client disconnects mid-stream (the body is not cancelled, and request.signal only fires
 * before a response was returned): a cancelled stream's relay simply stops. So each stream notes
 * its running usage (the backend's `: usage` comments) as it flows, and one that has moved nothing
 * for `staleMs` is settled to the usage it last reported, by the next request this isolate
 * handles. The backend pings every few seconds, so a live stream is never that quiet unless its
 * client stopped reading; such a stream that goes on later is settled again at its end (each
 * settlement replaces the one before). If the isolate is evicted first, the stream keeps its
 * reservation: the worst case, never less than it used.
 */
import type { UsageProgress } from "@gearbox/shared";

export interface OpenStream {
  /** Bytes flowed; `progress` is the stream's last reported usage, if any. */
  touch(progress: UsageProgress | undefined): void;
  /** The stream ended and was settled by its relay. */
  close(): void;
}

interface Entry {
  lastMs: number;
  used: number;
  settle: (usedTokens: number) => Promise<void>;
}

export class OpenStreams {
  private readonly open = new Set<Entry>();

  constructor(
    private readonly staleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tracks a stream; until it reports usage it counts as `promptTokens` used. */
  track(settle: (usedTokens: number) => Promise<void>, promptTokens: number): OpenStream {
    const entry: Entry = { lastMs: this.now(), used: promptTokens, settle };
    this.open.add(entry);
    return {
      touch: (progress) => {
        entry.lastMs = this.now();
        if (progress) entry.used = progress.promptTokens + progress.completionTokens;
        this.open.add(entry); // settled as stale, but alive after all
      },
      close: () => {
        this.open.delete(entry);
      },
    };
  }

  get size(): number {
    return this.open.size;
  }

  /** Settles every stream quiet for `staleMs`; resolves once their settlements are stored. */
  async sweep(): Promise<void> {
    const cutoff = this.now() - this.staleMs;
    const stale = [...this.open].filter((entry) => entry.lastMs <= cutoff);
    for (const entry of stale) this.open.delete(entry);
    await Promise.all(
      stale.map((entry) =>
        entry.settle(entry.used).catch((error: unknown) => {
          console.error("gearbox edge: settling a stream that went quiet", error);
        }),
      ),
    );
  }
}
