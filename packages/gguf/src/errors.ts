/** Every problem with a GGUF file's structure or contents is reported as a GgufError. */
export class GgufError extends Error {
  constructor(detail: string) {
    super(`GGUF: ${detail}`);
    this.name = "GgufError";
  }
}
