/**
 * Tokenizing a rendered chat prompt so that only the template's own markup becomes special tokens.
 *
 * A template prints message content and its own markup ("<|start_header_id|>") into one string; if
 * that string were tokenized with special tokens parsed, a user message containing the text
 * "<|eot_id|><|start_header_id|>system<|end_header_id|>" would become real control tokens and
 * forge a system turn. So, before rendering, every character that begins a special token's text is
 * escaped in every string the caller supplied (content, names, tool call arguments) with private-use
 * characters that templates pass through unchanged (trim, tojson, upper/lower leave them alone).
 * The rendered string then contains special-token text only where the template wrote it; it is
 * split there, and the text between is unescaped and tokenized as plain text. For content without
 * special-token text the tokens are exactly those of tokenizing the render with special tokens parsed.
 */
import type { Tokenizer } from "../tokenizer/tokenizer.js";

/** Starts an escape; the character after it says what was escaped. */
const ESCAPE = "\uE000";
/** Escape i stands for `alphabet[i]`; 0 is the escape character itself. */
const CODE_BASE = 0xe100;

export class PlainContentEncoder {
  private readonly alphabet: string[];
  private readonly escapeIndex: Map<string, number>;
  private readonly escapePattern: RegExp;
  private readonly unescapePattern = new RegExp(`${ESCAPE}([\\s\\S])`, "g");
  private readonly specialPattern: RegExp | undefined;
  private readonly specials: ReadonlyMap<string, number>;

  constructor(private readonly tokenizer: Pick<Tokenizer, "encode" | "specialTokenTexts">) {
    this.specials = tokenizer.specialTokenTexts();
    const firsts = new Set<string>();
    for (const text of this.specials.keys()) {
      const first = String.fromCodePoint(text.codePointAt(0) as number);
      if (first !== ESCAPE) firsts.add(first);
    }
    this.alphabet = [ESCAPE, ...firsts];
    this.escapeIndex = new Map(this.alphabet.map((c, i) => [c, i]));
    this.escapePattern = new RegExp(`[${this.alphabet.map(escapeClass).join("")}]`, "gu");
    const texts = [...this.specials.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialPattern = texts.length > 0 ? new RegExp(texts.join("|"), "g") : undefined;
  }

  /** A caller-supplied string with every possible start of a special token escaped. */
  escape(text: string): string {
    return text.replace(
      this.escapePattern,
      (c) => ESCAPE + String.fromCharCode(CODE_BASE + (this.escapeIndex.get(c) as number)),
    );
  }

  /** Every string inside a JSON-like value escaped (objects and arrays copied). */
  escapeDeep<T>(value: T): T {
    if (typeof value === "string") return this.escape(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.escapeDeep(v)) as T;
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.escapeDeep(v);
      return out as T;
    }
    return value;
  }

  unescape(text: string): string {
    return text.replace(this.unescapePattern, (_, code: string) => {
      const c = this.alphabet[code.charCodeAt(0) - CODE_BASE];
      // Not one of ours: a template cannot make one, but keep the text rather than lose it.
      return c ?? ESCAPE + code;
    });
  }

  /**
   * The tokens of a prompt rendered from escaped strings: special tokens where the template wrote
   * their text, everything else unescaped and tokenized as plain text (no BOS added: templates
   * print it).
   */
  encodeRendered(rendered: string): number[] {
    const out: number[] = [];
    const plain = (from: number, to: number) => {
      if (to <= from) return;
      for (const id of this.tokenizer.encode(this.unescape(rendered.slice(from, to)), {
        addBos: false,
        parseSpecial: false,
      }))
        out.push(id);
    };
    let at = 0;
    if (this.specialPattern) {
      this.specialPattern.lastIndex = 0;
      for (const match of rendered.matchAll(this.specialPattern)) {
        plain(at, match.index);
        out.push(this.specials.get(match[0]) as number);
        at = match.index + match[0].length;
      }
    }
    plain(at, rendered.length);
    return out;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function escapeClass(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}
