/**
 * POST /v1/completions, from the validated body to prompt tokens. A prompt may be text (a BOS is
 * prepended, as llama.cpp and vLLM do), token ids (fed exactly as given), or a batch of either.
 */
import {
  type CompletionRequest,
  completionRequestSchema,
  invalidRequest,
  unknownFields,
  unsupportedParameter,
} from "@gearbox/shared";
import type { ServedModel } from "../../models/served-model.js";

/** Throws a 400 naming the first parameter this server does not implement. */
export function checkCompletionRequest(body: CompletionRequest): void {
  const unknown = unknownFields(completionRequestSchema, body);
  if (unknown[0] !== undefined) throw unsupportedParameter(unknown[0]);
  if (body.suffix) throw unsupportedParameter("suffix", "Insertion (suffix) is not supported.");
  const n = body.n ?? 1;
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n) {
    throw unsupportedParameter("best_of", "best_of must equal n (no server-side selection).");
  }
  if (body.echo && body.logprobs !== undefined && body.logprobs !== null) {
    throw unsupportedParameter(
      "echo",
      "echo together with logprobs (prompt log-probabilities) is not supported.",
    );
  }
}

/** The batch of prompts: a single prompt becomes a batch of one. */
export function promptBatch(prompt: CompletionRequest["prompt"]): (string | number[])[] {
  if (typeof prompt === "string") return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === "number") return [prompt as number[]];
  return prompt as (string | number[])[];
}

/** Token ids of each prompt; token ids outside the vocabulary are refused. */
export function completionPromptTokens(
  model: ServedModel,
  prompts: readonly (string | number[])[],
): number[][] {
  const vocab = model.engine.info.vocabSize;
  return prompts.map((prompt, i) => {
    if (typeof prompt === "string") return model.tokenizer.encode(prompt);
    const bad = prompt.find((t) => t >= vocab);
    if (bad !== undefined) {
      const param = prompts.length === 1 ? "prompt" : `prompt[${i}]`;
      throw invalidRequest(
        `Invalid parameter '${param}': token id ${bad} is outside the vocabulary (0..${vocab - 1}).`,
        param,
      );
    }
    return prompt;
  });
}

/** The text the "auto" router judges the language by; token-id prompts are decoded. */
export function promptText(
  prompts: readonly (string | number[])[],
  decode: (tokens: number[]) => string,
): string {
  return prompts.map((p) => (typeof p === "string" ? p : decode(p))).join("\n");
}
