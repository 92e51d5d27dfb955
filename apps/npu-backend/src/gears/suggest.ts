/**
 * Ladder advice: given the histogram of observed step sizes, the bucket ladder (at most `budget`
 * gears) that minimizes the padding a static-graph backend would compute — each step padded up to
 * the smallest bucket that holds it. Exact dynamic programming over the distinct observed sizes
 * (an optimal ladder only ever needs buckets at observed sizes).
 */

export interface LadderCost {
  /** Sum over observed steps of (bucket - size) * count. */
  paddedTokens: number;
  realTokens: number;
  /** Steps larger than the largest bucket (they would be chunked). */
  overflowSteps: number;
}

/** Padding of a histogram (size -> count) on a ladder of buckets. */
export function ladderCost(histogram: ReadonlyMap<number, number>, ladder: readonly number[]): LadderCost {
  const sorted = [...ladder].sort((a, b) => a - b);
  let padded = 0;
  let real = 0;
  let overflow = 0;
  for (const [size, count] of histogram) {
    real += size * count;
    const bucket = sorted.find((b) => b >= size);
    if (bucket === undefined) overflow += count;
    else padded += (bucket - size) * count;
  }
  return { paddedTokens: padded, realTokens: real, overflowSteps: overflow };
}

/**
 * The ladder of at most `budget` buckets with the least padding that covers every observed size
 * (the largest observed size is always a bucket).
 */
export function suggestLadder(histogram: ReadonlyMap<number, number>, budget: number): number[] {
  if (!Number.isInteger(budget) || budget < 1) throw new Error("budget must be a positive integer");
  const sizes = [...histogram.keys()].filter((s) => (histogram.get(s) ?? 0) > 0).sort((a, b) => a - b);
  const n = sizes.length;
  if (n === 0) return [];
  if (n <= budget) return sizes;
  const counts = sizes.map((s) => histogram.get(s) ?? 0);
  // prefix sums of count and size*count let a bucket's cost be computed in O(1)
  const c = [0];
  const sc = [0];
  for (let i = 0; i < n; i++) {
    c.push((c[i] as number) + (counts[i] as number));
    sc.push((sc[i] as number) + (counts[i] as number) * (sizes[i] as number));
  }
  // cost of one bucket at sizes[j] covering sizes[i..j]
  const cost = (i: number, j: number) =>
    (sizes[j] as number) * ((c[j + 1] as number) - (c[i] as number)) -
    ((sc[j + 1] as number) - (sc[i] as number));
  // best[k][j]: least padding covering sizes[0..j] with k buckets, the last at sizes[j]
  let best = Array.from({ length: n }, (_, j) => cost(0, j));
  const choice: number[][] = [best.map(() => -1)];
  for (let k = 2; k <= budget; k++) {
    const next = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
    const from = new Array<number>(n).fill(-1);
    for (let j = k - 1; j < n; j++)
      for (let i = k - 2; i < j; i++) {
        const v = (best[i] as number) + cost(i + 1, j);
        if (v < (next[j] as number)) {
          next[j] = v;
          from[j] = i;
        }
      }
    best = next;
    choice.push(from);
  }
  const ladder: number[] = [];
  let j = n - 1;
  for (let k = budget; k >= 1 && j >= 0; k--) {
    ladder.push(sizes[j] as number);
    j = (choice[k - 1] as number[])[j] as number;
  }
  return ladder.reverse();
}
