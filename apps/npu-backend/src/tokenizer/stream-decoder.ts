/**
 * Turns generated tokens into text as they arrive without ever splitting a character: a token may
 * end in the middle of a multi-byte UTF-8 sequence (Llama 3 has tokens that are parts of Chinese
 * characters and emoji), so the incomplete tail waits for the next token. The concatenation of all
 * push() results and flush() equals a one-shot decode of the same tokens, U+FFFD included.
 */
export class StreamDecoder {
  private readonly utf8 = new TextDecoder("utf-8");

  /** `bytesOf` gives the bytes a token contributes (nothing for a hidden control token). */
  constructor(private readonly bytesOf: (id: number) => Uint8Array) {}

  /** Adds one token; returns the text it completes (possibly ""). */
  push(id: number): string {
    return this.utf8.decode(this.bytesOf(id), { stream: true });
  }

  /** Ends the stream: an incomplete trailing sequence becomes U+FFFD. The decoder can then be reused. */
  flush(): string {
    return this.utf8.decode();
  }
}
