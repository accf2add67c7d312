/**
 * The parts that make a SentencePiece-converted tokenizer.json tokenize as
 * SentencePiece does, without Python: the Unigram Viterbi's tie-breaking and
 * its refusal to match control pieces, and the normalization table's lookup.
 * (stages/test/t5-text-encoder.test.ts checks both against SentencePiece itself.)
 */
import { describe, expect, it } from 'vitest';
import { PrecompiledCharsmap, exactNormalizer } from '../src/text-encoder/precompiled-charsmap.ts';
import { UnigramViterbi } from '../src/text-encoder/unigram-viterbi.ts';

// Scores of "▁", "." and "..." in the tiny T5-style model (models.cogvideox.tiny_spiece, seed 0).
const VOCAB: [string, number][] = [
  ['<pad>', 0],
  ['</s>', 0],
  ['<unk>', 0],
  ['▁', -1.8322973251342773],
  ['.', -4.456763744354248],
  ['...', -5.17880916595459],
  ['a', -3.5],
  ['▁a', -2.5],
  ['<', -6],
  ['/', -6],
  ['s', -5],
  ['>', -6],
];
const viterbi = new UnigramViterbi(VOCAB, new Set([0, 1, 2]));
const dots = (n: number) => viterbi.tokenize('▁' + '.'.repeat(n));

describe('UnigramViterbi (SentencePiece segmentation)', () => {
  it('breaks exact ties the way SentencePiece 0.1.97 does (float32 best, double candidate)', () => {
    // sentencepiece.SentencePieceProcessor.encode('.' * n, out_type=str) on that model
    expect(dots(4)).toEqual(['▁', '...', '.']);
    expect(dots(5)).toEqual(['▁', '.', '.', '...']);
    expect(dots(7)).toEqual(['▁', '...', '.', '...']);
    expect(dots(8)).toEqual(['▁', '...', '.', '...', '.']);
    expect(dots(10)).toEqual(['▁', '...', '...', '...', '.']);
    expect(dots(11)).toEqual(['▁', '...', '...', '...', '.', '.']);
  });

  it('prefers higher scores and matches only normal pieces (control pieces stay text)', () => {
    expect(viterbi.tokenize('▁a')).toEqual(['▁a']);
    expect(viterbi.tokenize('▁</s>')).toEqual(['▁', '<', '/', 's', '>']);
  });

  it('returns characters no piece covers as themselves (the tokenizer fuses and maps them to unk)', () => {
    expect(viterbi.tokenize('▁a😀é.')).toEqual(['▁a', '😀', 'é', '.']);
    expect(() => new UnigramViterbi([['<unk>', 0]], new Set([0]))).toThrow(/no normal pieces/);
  });
});

/**
 * A hand-built darts-clone double array with one rule, "Å" (C3 85) → "A", in
 * SentencePiece's charsmap layout: u32 trie size, units, replacement strings.
 */
function oneRuleCharsmap(): string {
  const unit = (o: { offset?: number; label?: number; leaf?: boolean; value?: number }) =>
    o.value !== undefined ? (o.value | 0x80000000) >>> 0 : (((o.offset ?? 0) << 10) | (o.leaf ? 1 << 8 : 0) | (o.label ?? 0)) >>> 0;
  const units = new Uint32Array(1024);
  // root at 0 with offset 1: child for byte b sits at 1 ^ b
  units[0] = unit({ offset: 1 });
  const n1 = 1 ^ 0xc3;
  units[n1] = unit({ offset: n1 ^ 0x300, label: 0xc3 }); // children of n1 at (n1 ^ offset) ^ b = 0x300 ^ b
  const n2 = 0x300 ^ 0x85;
  units[n2] = unit({ offset: n2 ^ 0x200, label: 0x85, leaf: true }); // its value unit at n2 ^ offset = 0x200
  units[0x200] = unit({ value: 0 });
  const trie = Buffer.from(units.buffer);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(trie.length, 0);
  return Buffer.concat([head, trie, Buffer.from('A\0', 'utf8')]).toString('base64');
}

describe('PrecompiledCharsmap (SentencePiece normalization table)', () => {
  const table = PrecompiledCharsmap.fromBase64(oneRuleCharsmap());

  it('replaces the longest matching UTF-8 prefix and copies everything else', () => {
    expect(table.normalize('Å and Åland, not A\u030a')).toBe('A and Aland, not A\u030a');
    expect(table.normalize('日本 😀')).toBe('日本 😀');
    expect(table.normalize('')).toBe('');
  });

  it('runs inside the tokenizer.json normalizer sequence, in order', () => {
    const normalize = exactNormalizer({
      type: 'Sequence',
      normalizers: [
        { type: 'Precompiled', precompiled_charsmap: oneRuleCharsmap() },
        { type: 'Strip', strip_left: false, strip_right: true } as never,
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' } as never,
      ],
    })!;
    expect(normalize('Å   b  ')).toBe('A▁b');
    expect(exactNormalizer({ type: 'NFKC' })).toBeNull();
    expect(() => PrecompiledCharsmap.fromBase64(Buffer.from([9, 0, 0, 0, 1]).toString('base64'))).toThrow(/trie/);
  });
});
