/**
 * SentencePiece's normalization table (the `Precompiled` normalizer of a
 * tokenizer.json converted from a `spiece.model`), applied exactly as
 * SentencePiece applies it. `@huggingface/tokenizers` 0.2.0 ignores the table
 * and runs NFKC instead, which differs on some characters (U+200D, the zero
 * width joiner of emoji sequences, becomes a space there and stays itself here).
 *
 * The table: a little-endian u32 byte count, a darts-clone double-array trie of
 * that many bytes over UTF-8 input, then NUL-terminated replacement strings the
 * trie's values point at. At each position the longest matching prefix is
 * replaced; where nothing matches one character is copied unchanged.
 */
import * as tokenizers from '@huggingface/tokenizers';

export class PrecompiledCharsmap {
  private constructor(
    private readonly units: Uint32Array,
    private readonly replacements: Buffer,
  ) {}

  /** `precompiled_charsmap` of a tokenizer.json (base64). */
  static fromBase64(charsmap: string): PrecompiledCharsmap {
    const blob = Buffer.from(charsmap, 'base64');
    if (blob.length < 4) throw new Error('precompiled_charsmap is too short to hold a trie');
    const trieBytes = blob.readUInt32LE(0);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length) {
      throw new Error(`precompiled_charsmap declares a ${trieBytes}-byte trie in ${blob.length - 4} bytes`);
    }
    const units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < units.length; i++) units[i] = blob.readUInt32LE(4 + 4 * i);
    return new PrecompiledCharsmap(units, blob.subarray(4 + trieBytes));
  }

  normalize(text: string): string {
    const input = Buffer.from(text, 'utf8'); // lone surrogates become U+FFFD, as SentencePiece does with invalid UTF-8
    const parts: Buffer[] = [];
    let copyFrom = 0;
    let i = 0;
    while (i < input.length) {
      const match = this.longestPrefix(input, i);
      if (match) {
        if (copyFrom < i) parts.push(input.subarray(copyFrom, i));
        parts.push(this.replacement(match.value));
        i += match.length;
        copyFrom = i;
      } else {
        i += utf8Length(input[i]);
      }
    }
    if (copyFrom < input.length) parts.push(input.subarray(copyFrom));
    return Buffer.concat(parts).toString('utf8');
  }

  /** darts-clone's common-prefix search, keeping the longest hit. */
  private longestPrefix(input: Buffer, start: number): { length: number; value: number } | null {
    const units = this.units;
    let node = offset(units[0]);
    let best: { length: number; value: number } | null = null;
    for (let j = start; j < input.length; j++) {
      const byte = input[j];
      node ^= byte;
      if (node >= units.length) break;
      const unit = units[node];
      if (label(unit) !== byte) break;
      node ^= offset(unit);
      if (hasLeaf(unit) && node < units.length) best = { length: j - start + 1, value: units[node] & 0x7fffffff };
    }
    return best;
  }

  private replacement(at: number): Buffer {
    const end = this.replacements.indexOf(0, at);
    return this.replacements.subarray(at, end < 0 ? this.replacements.length : end);
  }
}

const hasLeaf = (unit: number): boolean => ((unit >>> 8) & 1) === 1;
const label = (unit: number): number => (unit & 0x800000ff) >>> 0;
const offset = (unit: number): number => ((unit >>> 10) << ((unit & 0x200) >>> 6)) >>> 0;

/** Bytes of the UTF-8 sequence a lead byte starts (the input is valid UTF-8). */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

export type NormalizerJson = { readonly type: string; readonly normalizers?: readonly NormalizerJson[]; readonly precompiled_charsmap?: string };

// The package's type declarations do not resolve under NodeNext, so its normalizer classes are typed here.
const { SequenceNormalizer } = tokenizers as unknown as {
  SequenceNormalizer: new (config: { type: 'Sequence'; normalizers: readonly NormalizerJson[] }) => (text: string) => string;
};

/**
 * The tokenizer.json normalizer with its SentencePiece tables applied exactly
 * (every other step by the library, in order), or null when it has none: the
 * library's own normalizer is then exact. Assign it to the Tokenizer's
 * `normalizer`, which the library calls on each stretch of text between added tokens.
 */
export function exactNormalizer(json: NormalizerJson | null | undefined): ((text: string) => string) | null {
  if (!json) return null;
  const flat = json.type === 'Sequence' ? (json.normalizers ?? []) : [json];
  if (!flat.some((n) => n.type === 'Precompiled' && n.precompiled_charsmap)) return null;
  const steps = flat.map((n): ((text: string) => string) => {
    if (n.type === 'Precompiled' && n.precompiled_charsmap) {
      const table = PrecompiledCharsmap.fromBase64(n.precompiled_charsmap);
      return (text) => table.normalize(text);
    }
    return new SequenceNormalizer({ type: 'Sequence', normalizers: [n] });
  });
  return (text) => steps.reduce((t, step) => step(t), text);
}
