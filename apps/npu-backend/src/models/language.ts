/**
 * Which language a conversation is in, as far as routing cares: Chinese (CJK script) or not.
 * A CJK character carries about as much as a word of a Latin-script language, so the share is
 * counted in units of one CJK character or one run of other letters: "帮我解释 React hooks" is
 * 4 CJK units against 2 words, mostly Chinese.
 */

const CJK_LETTER = String.raw`[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]`;
const IS_CJK = new RegExp(`^${CJK_LETTER}$`, "u");
/** One CJK letter, or a run of other letters (a word). */
const UNITS = new RegExp(String.raw`${CJK_LETTER}|(?:(?!${CJK_LETTER})[\p{L}\p{M}])+`, "gu");

/** The share (0..1) of CJK units among the text's letter units; 0 for text without letters. */
export function cjkShare(text: string): number {
  let cjk = 0;
  let total = 0;
  for (const match of text.matchAll(UNITS)) {
    total++;
    if (IS_CJK.test(match[0])) cjk++;
  }
  return total === 0 ? 0 : cjk / total;
}

export type RoutedLanguage = "zh" | "en";

/** "zh" when most of the text is CJK, else "en". */
export function detectLanguage(text: string): RoutedLanguage {
  return cjkShare(text) > 0.5 ? "zh" : "en";
}
