/**
 * The request-size limit of both servers, written so that an oversized request still gets its
 * answer. A server that answers 413 from `content-length` without reading the body (as Hono's
 * `bodyLimit` does) makes the connection close while the client is still uploading: the client's
 * next write fails (`write ECONNRESET` / `EPIPE`) and it never reads the 413. Here the rest of an
 * oversized body is read and dropped first, up to a bound in bytes and in time; only a client that
 * sends more than that (or sends it slower) has its connection cut.
 */
import { requestTooLarge } from "./errors.js";

export interface BodyDrain {
  /** At most this many bytes of an oversized body are read and dropped before the 413. */
  maxBytes: number;
  /** ... and for at most this long; then the body is cancelled and the answer sent anyway. */
  maxMs: number;
}

/** 16 MiB within 10 s: generous for any client that sent a body by mistake, bounded for a hostile one. */
export const DEFAULT_BODY_DRAIN: BodyDrain = { maxBytes: 16 * 1024 * 1024, maxMs: 10_000 };

/**
 * Returns the request to hand on (the same one, or for a body without `content-length` one carrying
 * the bytes read), or throws the 413 once the oversized body has been drained.
 */
export async function limitRequestBody(
  request: Request,
  limitBytes: number,
  drain: BodyDrain = DEFAULT_BODY_DRAIN,
): Promise<Request> {
  const body = request.body;
  if (!body) return request;
  const declared = request.headers.has("transfer-encoding") ? null : request.headers.get("content-length");
  if (declared !== null) {
    // The HTTP layer frames the body by this length, so it is what will arrive.
    if (!(Number(declared) > limitBytes)) return request;
    await drainBody(body.getReader(), 0, drain);
    throw requestTooLarge(limitBytes);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await drainBody(reader, size, drain);
      throw requestTooLarge(limitBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new Request(request, { body: bytes });
}

/** Reads and drops the rest of a body (`already` bytes of it read), within the drain bounds. */
async function drainBody(reader: ReadableStreamDefaultReader<Uint8Array>, already: number, drain: BodyDrain) {
  let read = already;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), drain.maxMs);
  });
  try {
    while (read <= drain.maxBytes) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "expired" || next.done) break;
      read += next.value.byteLength;
    }
  } catch {
    // The client went away mid-upload: nothing is left to drain.
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}
