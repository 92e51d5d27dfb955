/**
 * Random-access bytes for the GGUF reader: a file read on demand (so reading the header of a
 * multi-gigabyte model reads only the header) or a buffer in memory (tests, small files).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Shown in error messages (a file path). */
  readonly name?: string;
  /** Exactly `length` bytes starting at `position`; callers never read past `size`. */
  read(position: number, length: number): Uint8Array;
}

export function bufferSource(bytes: Uint8Array, name?: string): ByteSource {
  return {
    size: bytes.length,
    ...(name === undefined ? {} : { name }),
    read: (position, length) => bytes.subarray(position, position + length),
  };
}

/** A read-only file source; call `close()` when done. */
export interface FileSource extends ByteSource {
  close(): void;
}

export function openFileSource(path: string): FileSource {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    return {
      size,
      name: path,
      read(position, length) {
        const out = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, position + done);
          if (n === 0) throw new Error(`${path}: unexpected end of file at ${position + done}`);
          done += n;
        }
        return out;
      },
      close: () => closeSync(fd),
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
