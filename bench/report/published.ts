/**
 * The published figures the report is set beside: Llama 3.2 1B (English) and a 3B Chinese
 * fine-tune on Ascend 910 with dynamic shapes (MindSpore 2.0), as quoted in issue 13. Another
 * machine and another stack: they are a reference point, not a measurement of gearbox.
 */
export const PUBLISHED = {
  label: "Ascend 910, MindSpore 2.0 (published)",
  latencyMs: { 16: { en: 50, zh: 80 }, 64: { en: 120, zh: 200 }, 256: { en: 300, zh: 500 } } as Record<
    number,
    { en: number; zh: number }
  >,
  memoryGB: { en: 2, zh: 6 },
  requestsPerS: { en: 10, zh: 6 },
  /** The claim part 2 tests. */
  dynamicSpeedup: "dynamic-shape inference is 20–30% faster than fixed shapes",
} as const;
