/**
 * The request fields chat and legacy completions share, turned into what the scheduler runs:
 * sampling settings per choice, stop strings, and the number of tokens to generate. Values the
 * schema accepts but this server cannot honour are rejected here, naming the field.
 */
import { contextLengthExceeded, invalidRequest } from "@gearbox/shared";
import type { SamplingParams } from "../../engine/engine.js";

/** Fields of both request schemas that shape sampling. */
export interface SamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
}

/** Seeds are taken modulo 2^32 (any integer is a valid OpenAI seed); the sums stay exact in a double. */
const SEED_RANGE = 2 ** 32;

/**
 * Sampling settings of each of the `n` choices. With a seed, choice i samples with seed + i, so
 * the answer is reproducible whatever else runs; without, each choice gets a random seed.
 */
export function choiceSampling(
  body: SamplingFields,
  vocabSize: number,
  logprobs: { logprobs: boolean; topLogprobs: number },
): SamplingParams[] {
  const logitBias = new Map<number, number>();
  for (const [key, bias] of Object.entries(body.logit_bias ?? {})) {
    const token = Number(key);
    if (token >= vocabSize) {
      throw invalidRequest(
        `Invalid parameter 'logit_bias': token id ${key} is outside the vocabulary (0..${vocabSize - 1}).`,
        "logit_bias",
      );
    }
    logitBias.set(token, bias);
  }
  const base: Omit<SamplingParams, "seed"> = {
    temperature: body.temperature ?? 1,
    // A top-k of the vocabulary or more keeps every token: the same as none, and in the engine's range.
    topK: Math.min(Math.max(0, body.top_k ?? 0), vocabSize),
    topP: body.top_p ?? 1,
    minP: body.min_p ?? 0,
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    // The engine's floor: a smaller positive penalty only pushes seen tokens further the same way.
    repetitionPenalty: Math.max(1e-6, body.repetition_penalty ?? 1),
    logitBias,
    logprobs: logprobs.logprobs,
    topLogprobs: logprobs.topLogprobs,
  };
  const n = body.n ?? 1;
  const seed = body.seed;
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    seed:
      seed === undefined || seed === null
        ? Math.floor(Math.random() * SEED_RANGE)
        : (((seed % SEED_RANGE) + SEED_RANGE) % SEED_RANGE) + i,
  }));
}

/**
 * `stop` as a list; an empty stop string would end every answer before it starts, so it is refused,
 * and so is one longer than `maxLength` characters (every token is matched against each).
 */
export function stopStrings(stop: string | string[] | null | undefined, maxLength: number): string[] {
  const list = stop === undefined || stop === null ? [] : typeof stop === "string" ? [stop] : stop;
  if (list.some((s) => s.length === 0)) {
    throw invalidRequest("Invalid parameter 'stop': stop sequences must not be empty.", "stop");
  }
  if (list.some((s) => s.length > maxLength)) {
    throw invalidRequest(
      `Invalid parameter 'stop': a stop sequence may have at most ${maxLength} characters.`,
      "stop",
    );
  }
  return [...new Set(list)];
}

/** Refuses a request for more choices (n x prompts) than the server runs for one request. */
export function checkChoiceCount(n: number, prompts: number, maxChoices: number): void {
  if (n * prompts <= maxChoices) return;
  const what = prompts > 1 ? `${prompts} prompts x n=${n} = ${n * prompts} choices` : `n=${n} choices`;
  throw invalidRequest(
    `Invalid parameter '${prompts > 1 ? "prompt" : "n"}': ${what} asked for; this server runs at most ${maxChoices} per request.`,
    prompts > 1 ? "prompt" : "n",
  );
}

/**
 * Tokens to generate: the request's max_tokens, which must fit in the context with the prompt, or
 * when it gives none the configured default, capped by what the context leaves. `cap` is the
 * budget the edge reserved the key's tokens for (x-gearbox-max-tokens): never more than that.
 */
export function completionBudget(
  requested: number | null | undefined,
  promptTokens: number,
  contextLength: number,
  defaultMaxTokens: number,
  cap: number = Number.POSITIVE_INFINITY,
): number {
  if (requested !== undefined && requested !== null) {
    if (promptTokens + requested > contextLength)
      throw contextLengthExceeded(promptTokens, requested, contextLength);
    return Math.max(0, Math.min(requested, cap));
  }
  const left = contextLength - promptTokens;
  if (left < 1) throw contextLengthExceeded(promptTokens, 1, contextLength);
  return Math.max(0, Math.min(defaultMaxTokens, left, cap));
}
