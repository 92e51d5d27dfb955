/**
 * Bounded BPE time for any input. tiktoken-style BPE merges are quadratic in the length of one
 * pre-token, and the Llama 3 / cl100k split pattern makes an unbroken run of letters, of
 * punctuation or of whitespace one pre-token: 900,000 × "a" would block a thread for many minutes.
 * Such runs are cut into pieces of at most `maxRun` characters, each encoded on its own, so the
 * work is linear in the input. Text without a run that long is returned as one piece and tokenizes
 * exactly as before; a cut run still decodes to the same text (only the token boundaries at the
 * cuts can differ from an uncut encoding). No piece boundary falls inside a protected string (a
 * special token's text), so special-token parsing sees the same tokens.
 */

/** Longest run of one character class encoded in one piece. Llama 3's longest tokens are far shorter. */
export const MAX_BPE_RUN = 256;

/** A character class run the split pattern would keep in one pre-token. */
function longRunPattern(maxRun: number): RegExp {
  return new RegExp(`\\p{L}{${maxRun + 1},}|[^\\s\\p{L}\\p{N}]{${maxRun + 1},}|\\s{${maxRun + 1},}`, "gu");
}

const patterns = new Map<number, RegExp>();

/**
 * `text` cut into pieces whose concatenation is `text`, no run of one class longer than
 * `maxRun` characters in a piece (cuts fall between code points, never inside a `protect` string).
 */
export function splitLongRuns(
  text: string,
  maxRun: number = MAX_BPE_RUN,
  protect: readonly string[] = [],
): string[] {
  if (text.length <= maxRun) return [text];
  let pattern = patterns.get(maxRun);
  if (!pattern) {
    pattern = longRunPattern(maxRun);
    patterns.set(maxRun, pattern);
  }
  const cuts: number[] = [];
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    let at = start;
    while (end - at > maxRun) {
      let cut = at + maxRun;
      // Not between the halves of a surrogate pair.
      if (isLowSurrogate(text.charCodeAt(cut))) cut--;
      for (let moved = outsideProtected(text, cut, protect); moved !== cut; ) {
        cut = moved;
        moved = outsideProtected(text, cut, protect);
      }
      if (cut <= at || cut >= end) break;
      cuts.push(cut);
      at = cut;
    }
  }
  if (cuts.length === 0) return [text];
  const pieces: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(text.slice(from, cut));
    from = cut;
  }
  pieces.push(text.slice(from));
  return pieces;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The cut moved past any protected string that would straddle it. */
function outsideProtected(text: string, cut: number, protect: readonly string[]): number {
  let moved = cut;
  for (const s of protect) {
    if (s.length < 2) continue;
    const from = Math.max(0, moved - s.length + 1);
    const found = text.indexOf(s, from);
    if (found >= 0 && found < moved && found + s.length > moved) moved = found + s.length;
  }
  return moved;
}
