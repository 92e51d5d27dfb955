/**
 * KV cache admission. The engine fails a whole step when the cache runs out, and this scheduler
 * does not preempt, so a request is admitted only once the blocks it could ever need are free:
 * its prompt plus max_tokens, for each choice, counting the prompt's full blocks once since
 * forked choices share them (copy-on-write starts at the first partial block).
 */

export function blocksFor(tokens: number, blockSize: number): number {
  return Math.ceil(tokens / blockSize);
}

/** Blocks a request may hold at most: `n` choices of `promptTokens + maxNewTokens` tokens. */
export function reservationBlocks(
  promptTokens: number,
  maxNewTokens: number,
  n: number,
  blockSize: number,
): number {
  const perChoice = blocksFor(promptTokens + maxNewTokens, blockSize);
  // Choices fork after all but the last prompt token: the full blocks before it stay shared.
  const shared = Math.floor(Math.max(0, promptTokens - 1) / blockSize);
  return perChoice + (n - 1) * (perChoice - shared);
}
