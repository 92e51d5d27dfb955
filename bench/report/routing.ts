/**
 * Part 3 of the report: the `auto` router on the labelled set — accuracy per group, the items it
 * gets wrong, and its cost per request (the real ModelRouter deciding between an "en" and a "zh"
 * model, timed over many passes of the set).
 */
import { ModelRouter } from "@gearbox/npu-backend/models/model-router";
import { type RoutingGroup, type RoutingItem, routingSet } from "./routing-set.js";

export interface RoutingResult {
  items: number;
  correct: number;
  accuracy: number;
  byGroup: Record<RoutingGroup, { items: number; correct: number }>;
  misses: { group: RoutingGroup; text: string; expected: string; got: string }[];
  /** Mean time of one routing decision, microseconds, and mean characters per item. */
  usPerRequest: number;
  meanChars: number;
}

/** The router as the server builds it: an English model and a Chinese model, "auto" on. */
function router() {
  const models = [
    { id: "en-model", aliases: [], languages: ["en"] },
    { id: "zh-model", aliases: [], languages: ["zh"] },
  ];
  return new ModelRouter(models, { auto: true, defaultModel: "en-model" });
}

export function evaluateRouting(set: RoutingItem[] = routingSet(), passes = 200): RoutingResult {
  const r = router();
  const byGroup = {} as RoutingResult["byGroup"];
  const misses: RoutingResult["misses"] = [];
  let correct = 0;
  for (const item of set) {
    const got = r.route("auto", () => item.text).id === "zh-model" ? "zh" : "en";
    const g = byGroup[item.group] ?? { items: 0, correct: 0 };
    byGroup[item.group] = g;
    g.items++;
    if (got === item.expected) {
      correct++;
      g.correct++;
    } else misses.push({ group: item.group, text: item.text, expected: item.expected, got });
  }
  let sink = 0;
  const start = performance.now();
  for (let p = 0; p < passes; p++) for (const item of set) sink += r.route("auto", () => item.text).id.length;
  const us = ((performance.now() - start) * 1000) / (passes * set.length);
  if (sink < 0) throw new Error("unreachable");
  return {
    items: set.length,
    correct,
    accuracy: correct / set.length,
    byGroup,
    misses,
    usPerRequest: us,
    meanChars: set.reduce((a, it) => a + it.text.length, 0) / set.length,
  };
}
