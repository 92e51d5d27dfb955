/** Order statistics shared by the bench drivers: one definition, so every table means the same. */

/** The p-th percentile (0-100) with linear interpolation between the two nearest ranks; NaN if empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
}

/** The median: the middle value, or the mean of the two middle values for an even count. */
export const median = (values: readonly number[]): number => percentile(values, 50);
