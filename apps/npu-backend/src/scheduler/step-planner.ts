/**
 * One engine step's token allocation, after vLLM's model: every sequence has tokens computed and
 * tokens it needs computed; a step gives each some of the difference within a token budget. So
 * prefill and decode are the same operation: decode is "one token left".
 *
 * Sequences with one token left (decoding) go first so that running streams keep flowing; the rest
 * of the budget goes to prefill chunks in arrival order (a long prompt is spread over several
 * steps, mixed with the decodes of the others).
 */

/** Tokens per candidate (same order); 0 = not in this step. */
export function planStep(remaining: readonly number[], budget: number): number[] {
  const take = remaining.map(() => 0);
  let left = budget;
  remaining.forEach((r, i) => {
    if (r === 1 && left > 0) {
      take[i] = 1;
      left--;
    }
  });
  remaining.forEach((r, i) => {
    if (r > 1 && left > 0) {
      const chunk = Math.min(r, left);
      take[i] = chunk;
      left -= chunk;
    }
  });
  return take;
}
