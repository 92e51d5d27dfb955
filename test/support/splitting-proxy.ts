/**
 * An HTTP proxy for tests that passes requests on unchanged and answers' bodies in pieces cut inside
 * UTF-8 characters: after the first byte of every multi-byte character it flushes and pauses, so a
 * client reads that character in two network chunks. A client that decodes each chunk on its own
 * shows U+FFFD; one that decodes the stream as a whole shows the text.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const PAUSE_MS = 3;
/** Hop-by-hop headers, and what a re-chunked, decompressed body no longer has. */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "host",
  // fetch decompresses: ask for and pass on plain bodies only.
  "accept-encoding",
  "content-encoding",
]);

export interface SplittingProxy {
  url: string;
  /** How many characters were cut so far. */
  readonly splits: number;
  close(): Promise<void>;
}

function forwardable(headers: IncomingHttpHeaders | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers] : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined || DROPPED.has(name.toLowerCase())) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export async function startSplittingProxy(target: string): Promise<SplittingProxy> {
  let splits = 0;
  const server: Server = createServer(async (req, res) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${target}${req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers: forwardable(req.headers),
        body: chunks.length > 0 ? Buffer.concat(chunks) : null,
        redirect: "manual",
        signal: abort.signal,
      });
      res.writeHead(upstream.status, forwardable(upstream.headers));
      res.flushHeaders();
      for await (const bytes of upstream.body ?? []) {
        let start = 0;
        for (let i = 0; i < bytes.length; i++) {
          // A lead byte (11xxxxxx) starts a character of two or more bytes: cut right after it.
          if ((bytes[i] ?? 0) >= 0xc0 && i + 1 < bytes.length) {
            res.write(bytes.subarray(start, i + 1));
            start = i + 1;
            splits++;
            await sleep(PAUSE_MS);
          }
        }
        res.write(bytes.subarray(start));
      }
      res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get splits() {
      return splits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
