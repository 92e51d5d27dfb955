/**
 * The real Llama 3 vocabulary (128,000 byte-level BPE tokens + 256 special tokens) and its 280,147
 * merges, taken from the `llama3-tokenizer-js` package, checked, and shaped for GGUF
 * (tokenizer.ggml.tokens / token_type / merges). The package is loaded on demand: it is 3 MB.
 */
export const LLAMA3_NORMAL_TOKENS = 128000;
export const LLAMA3_VOCAB_SIZE = 128256;
export const LLAMA3_MERGES = 280147;
export const LLAMA3_BOS_ID = 128000;
/** Llama 3.2 Instruct ends a turn with <|eot_id|>, its eos_token_id. */
export const LLAMA3_EOS_ID = 128009;

/** llama.cpp's token types (llama_token_type): 1 normal, 3 control. */
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;

/** The named special tokens of Llama 3.1 / 3.2 at their ids; every other special is reserved_N. */
const NAMED_SPECIALS: ReadonlyArray<[number, string]> = [
  [128000, "<|begin_of_text|>"],
  [128001, "<|end_of_text|>"],
  [128002, "<|reserved_special_token_0|>"],
  [128003, "<|reserved_special_token_1|>"],
  [128004, "<|finetune_right_pad_id|>"],
  [128005, "<|reserved_special_token_2|>"],
  [128006, "<|start_header_id|>"],
  [128007, "<|end_header_id|>"],
  [128008, "<|eom_id|>"],
  [128009, "<|eot_id|>"],
  [128010, "<|python_tag|>"],
];

export interface Llama3Vocab {
  /** Token strings in HF's byte-level form (bytes mapped to printable characters), by id. */
  tokens: string[];
  tokenTypes: Int32Array;
  /** Merges in priority order, each "left right". */
  merges: string[];
}

/** The special token expected at `id` (128000..128255). */
function llama3SpecialTokenName(id: number): string {
  const named = NAMED_SPECIALS.find(([i]) => i === id);
  if (named) return named[1];
  return `<|reserved_special_token_${id - 128011 + 3}|>`;
}

export async function loadLlama3Vocab(): Promise<Llama3Vocab> {
  const { default: source } = await import("llama3-tokenizer-js");
  const tokens = source.vocabById;
  if (tokens.length !== LLAMA3_VOCAB_SIZE) {
    throw new Error(`llama3-tokenizer-js has ${tokens.length} tokens, expected ${LLAMA3_VOCAB_SIZE}`);
  }
  for (let id = LLAMA3_NORMAL_TOKENS; id < LLAMA3_VOCAB_SIZE; id++) {
    if (tokens[id] !== llama3SpecialTokenName(id)) {
      throw new Error(
        `llama3-tokenizer-js has ${JSON.stringify(tokens[id])} at id ${id}, expected ${llama3SpecialTokenName(id)}`,
      );
    }
  }
  const merges = [...source.merges.keys()];
  if (merges.length !== LLAMA3_MERGES) {
    throw new Error(`llama3-tokenizer-js has ${merges.length} merges, expected ${LLAMA3_MERGES}`);
  }
  const tokenTypes = new Int32Array(LLAMA3_VOCAB_SIZE).fill(TOKEN_TYPE_NORMAL);
  tokenTypes.fill(TOKEN_TYPE_CONTROL, LLAMA3_NORMAL_TOKENS);
  return { tokens: [...tokens], tokenTypes, merges };
}
