/**
 * SentencePiece's Unigram segmentation (its `EncodeOptimized` Viterbi), for a
 * tokenizer.json converted from a `spiece.model`. Two things make it differ
 * from `@huggingface/tokenizers`' Unigram, and both change ids on real prompts:
 *
 * - ties: segmentations whose scores are equal in exact arithmetic ("...." as
 *   "..." + "." or "." + "...") are decided by SentencePiece's arithmetic, where
 *   the best score ending at each character is stored in float32 but a new
 *   candidate (piece score + best score before it) is computed in double and
 *   replaces it when strictly greater: so whether a later tying candidate wins
 *   depends on which way the stored float32 was rounded (the library takes the
 *   first, in float64);
 * - only normal pieces match text: control pieces (`</s>`, `<pad>`, the extra
 *   ids) never do, so "＜/s＞", which normalizes to "</s>", stays four pieces.
 *
 * The best path ending at each character is kept; candidates are visited by
 * start position, then length. A character no single piece covers is unknown
 * (score, in float32: the lowest normal score minus 10); runs of unknown
 * characters are fused by the caller, as SentencePiece does.
 */

const UNK_PENALTY = 10;

export class UnigramViterbi {
  private readonly ids = new Map<string, number>();
  private readonly scores: Float32Array;
  private readonly maxChars: number;
  private readonly unkScore: number;

  /**
   * @param vocab the model's [piece, score] list, in id order
   * @param special ids that are added tokens (never matched inside text)
   */
  constructor(vocab: readonly (readonly [string, number])[], special: ReadonlySet<number>) {
    this.scores = Float32Array.from(vocab, ([, score]) => score);
    let maxChars = 1;
    let minScore = Infinity;
    vocab.forEach(([piece], id) => {
      if (special.has(id)) return;
      this.ids.set(piece, id);
      maxChars = Math.max(maxChars, [...piece].length);
      minScore = Math.min(minScore, this.scores[id]);
    });
    if (this.ids.size === 0) throw new Error('the Unigram vocabulary has no normal pieces');
    this.maxChars = maxChars;
    this.unkScore = Math.fround(minScore - UNK_PENALTY);
  }

  /** The pieces of one normalized, pre-tokenized string; an unknown character is returned as itself. */
  tokenize(normalized: string): string[] {
    const chars = Array.from(normalized);
    const n = chars.length;
    const score = new Float32Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    for (let start = 0; start < n; start++) {
      const base = score[start];
      let single = false;
      let piece = '';
      for (let end = start + 1; end <= Math.min(n, start + this.maxChars); end++) {
        piece += chars[end - 1];
        const id = this.ids.get(piece);
        if (id === undefined) continue;
        const candidate = this.scores[id] + base; // double, as SentencePiece's (float score + float best) promoted by its double literal
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate; // stored as float32
          from[end] = start;
        }
        if (end === start + 1) single = true;
      }
      if (!single) {
        const candidate = Math.fround(this.unkScore + base);
        if (from[start + 1] < 0 || candidate > score[start + 1]) {
          score[start + 1] = candidate;
          from[start + 1] = start;
        }
      }
    }
    const pieces: string[] = [];
    for (let end = n; end > 0; end = from[end]) pieces.push(chars.slice(from[end], end).join(''));
    return pieces.reverse();
  }
}
