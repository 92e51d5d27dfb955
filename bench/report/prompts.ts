/**
 * Prompts of an exact token length in a given language, for the two-model report: real English or
 * Chinese prose (so that `model: "auto"` has something to route on), tokenized with the model's own
 * tokenizer and cut to the length asked, sent as token ids so the server computes exactly that
 * many prompt tokens. Each prompt starts with its own number, so no two share a KV block and the
 * prefix cache never helps.
 */
import type { Tokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";

export type PromptLanguage = "en" | "zh";

const EN = [
  "The river that runs past the old mill has been rising for three days now.",
  "Farmers along the valley moved their animals to higher ground before the storm arrived.",
  "A small library in the town keeps maps that are more than two hundred years old.",
  "Engineers measured the bridge again and found that the steel had barely moved.",
  "Most visitors come in the summer, when the mountain paths are dry and open.",
  "The committee will publish its report on the new railway line next spring.",
  "Children at the village school learn to swim in the lake behind the church.",
  "Please summarize the main points of this passage in two short sentences.",
  "Our team wants to know which model answers faster on long documents.",
  "She wrote down every question the customers asked during the first week.",
];

const ZH = [
  "今天早上下了一场大雨，街道上的积水很快就退去了。",
  "这家小书店开了三十多年，店主每天都会推荐一本新书。",
  "我们计划明年春天去云南旅行，看看那里的山和湖。",
  "研究人员发现，这种植物在干旱的环境里也能长得很好。",
  "请用简单的语言解释一下什么是机器学习。",
  "公司决定把新的办公室搬到离地铁站更近的地方。",
  "老师鼓励学生们每天读书半小时，并写下自己的想法。",
  "这座桥建成已经一百年了，至今仍然非常坚固。",
  "如果明天天气好，我们就去公园里放风筝。",
  "他每天坚持跑步，身体比以前健康多了。",
];

/** Deterministic shuffle of the pool, rotated by the prompt's number. */
function prose(language: PromptLanguage, salt: number, minChars: number): string {
  const pool = language === "en" ? EN : ZH;
  const parts = [language === "en" ? `Note ${salt}: ` : `第${salt}条：`];
  let chars = 0;
  for (let i = 0; chars < minChars; i++) {
    const s = pool[(salt * 7 + i * 3) % pool.length] as string;
    parts.push(language === "en" ? `${s} ` : s);
    chars += s.length;
  }
  return parts.join("");
}

/** BOS and then exactly `length - 1` tokens of prose in `language`. */
export function promptOf(
  tokenizer: Tokenizer,
  language: PromptLanguage,
  length: number,
  salt: number,
): number[] {
  if (length < 2) throw new Error(`prompt length ${length}: at least 2 (BOS and one token)`);
  // About 4 characters per token in English, about 1 per character in Chinese: ask for plenty.
  const text = prose(language, salt, language === "en" ? length * 6 : length * 2);
  const ids = tokenizer.encode(text, { addBos: true });
  if (ids.length < length) throw new Error(`prose too short for ${length} tokens`);
  return ids.slice(0, length);
}

/** Plain prose in a language (for the dynamic-shape workload, which needs realistic lengths only). */
export function proseOf(language: PromptLanguage, salt: number, chars: number): string {
  return prose(language, salt, chars);
}
