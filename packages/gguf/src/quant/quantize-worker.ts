/** Worker thread of QuantizePool: encodes the value chunks it is sent and transfers the bytes back. */
import { parentPort } from "node:worker_threads";
import { ggmlTypeInfo } from "../ggml-types.js";
import { quantize } from "./codec.js";

export interface QuantizeRequest {
  id: number;
  typeId: number;
  values: Float32Array;
}

export type QuantizeResponse = { id: number; bytes: Uint8Array } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("quantize-worker must run in a worker thread");

port.on("message", ({ id, typeId, values }: QuantizeRequest) => {
  try {
    const type = ggmlTypeInfo(typeId);
    if (!type) throw new Error(`unknown ggml type id ${typeId}`);
    const bytes = quantize(type, values);
    port.postMessage({ id, bytes } satisfies QuantizeResponse, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({
      id,
      error: err instanceof Error ? err.message : String(err),
    } satisfies QuantizeResponse);
  }
});
