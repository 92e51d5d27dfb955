/**
 * Log-probabilities on the wire: chat's `logprobs.content` (token, logprob, bytes, top_logprobs)
 * and the legacy completions' parallel arrays. A token's `token` is its text (a token holding part
 * of a UTF-8 character shows U+FFFD there); `bytes` are its exact bytes.
 */
import type { CompletionLogprobs, TokenLogprob } from "@gearbox/shared";
import type { Tokenizer } from "../../tokenizer/tokenizer.js";
import type { EmittedToken } from "../generation/choice-text.js";

function tokenString(tokenizer: Tokenizer, token: number): string {
  return tokenizer.decode([token], { special: true });
}

function tokenBytes(tokenizer: Tokenizer, token: number): number[] {
  return Array.from(tokenizer.tokenBytes(token));
}

/** Chat `logprobs.content` entries of some tokens. */
export function chatLogprobContent(tokenizer: Tokenizer, tokens: readonly EmittedToken[]): TokenLogprob[] {
  return tokens.map((t) => ({
    token: tokenString(tokenizer, t.token),
    logprob: t.logprob ?? 0,
    bytes: tokenBytes(tokenizer, t.token),
    top_logprobs: (t.topLogprobs ?? []).map((top) => ({
      token: tokenString(tokenizer, top.token),
      logprob: top.logprob,
      bytes: tokenBytes(tokenizer, top.token),
    })),
  }));
}

/**
 * Legacy `logprobs` of some tokens; `textOffset` is where the first token's text starts in the
 * choice's text. `top_logprobs` entries are null when no alternatives were asked for.
 */
export function completionLogprobs(
  tokenizer: Tokenizer,
  tokens: readonly EmittedToken[],
  textOffset: number,
  withAlternatives: boolean,
): CompletionLogprobs {
  const out: CompletionLogprobs = { text_offset: [], token_logprobs: [], tokens: [], top_logprobs: [] };
  let offset = textOffset;
  for (const t of tokens) {
    const text = tokenString(tokenizer, t.token);
    out.tokens.push(text);
    out.token_logprobs.push(t.logprob ?? null);
    out.text_offset.push(offset);
    offset += text.length;
    out.top_logprobs.push(
      withAlternatives
        ? Object.fromEntries(
            (t.topLogprobs ?? []).map((top) => [tokenString(tokenizer, top.token), top.logprob]),
          )
        : null,
    );
  }
  return out;
}

/** Concatenates legacy logprobs of consecutive pieces of one choice. */
export function appendCompletionLogprobs(into: CompletionLogprobs, more: CompletionLogprobs): void {
  into.text_offset.push(...more.text_offset);
  into.token_logprobs.push(...more.token_logprobs);
  into.tokens.push(...more.tokens);
  into.top_logprobs.push(...more.top_logprobs);
}
