"""The tokenizer's reference encoder and the tokenizers shipped in the packages."""

import json
import os
import unittest

from models.lib import tokenizer as tok
from models.tests import REPO


class TokenizerTest(unittest.TestCase):
    vocab = tok.build_vocab()

    def ids(self, *words):
        return [self.vocab[w] for w in words]

    def test_unknown_words_map_to_unk(self):
        out = tok.encode_prompt("A serene sunset", self.vocab, 20)
        self.assertEqual(out[:4], self.ids("a") + [tok.UNK_ID] + self.ids("sunset") + [tok.EOS_ID])
        self.assertEqual(tok.UNK_ID, self.vocab["<unk>"])

    def test_fixed_length_eos_and_padding(self):
        for text in ("", "red circle", " ".join(["circle"] * 40)):
            for L in (8, 20):
                out = tok.encode_prompt(text, self.vocab, L)
                self.assertEqual(len(out), L, text)
                self.assertEqual(out.count(tok.EOS_ID), 1, text)
                n = len(tok.pre_tokenize(text))
                eos = min(n, L - 1)  # truncated to L - 1 words, then </s>, then <pad>
                self.assertEqual(out[eos], tok.EOS_ID, text)
                self.assertEqual(out[eos + 1:], [tok.PAD_ID] * (L - eos - 1), text)
        self.assertEqual(tok.encode_prompt("", self.vocab, 4), [tok.EOS_ID, tok.PAD_ID, tok.PAD_ID, tok.PAD_ID])

    def test_case_accents_and_punctuation(self):
        # lower-cased, accents stripped, every punctuation character its own token
        out = tok.encode_prompt("A RED Círcle,moving left.", self.vocab, 12)
        self.assertEqual(out[:8], self.ids("a", "red", "circle", ",", "moving", "left", ".") + [tok.EOS_ID])
        self.assertEqual(tok.pre_tokenize("box;  (up)!"), ["box", ";", "(", "up", ")", "!"])

    def test_shipped_tokenizers_match_the_vocabulary(self):
        # the service encodes with the package's tokenizer.json; training encoded with encode_prompt
        for name in ("cogvideox-tiny", "cogvideox-mini"):
            pkg = os.path.join(REPO, "models", name)
            with open(os.path.join(pkg, "tokenizer.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["model"]["vocab"], self.vocab, name)
            with open(os.path.join(pkg, "manifest.json"), encoding="utf-8") as f:
                m = json.load(f)["tokenizer"]
            self.assertEqual((m["pad_id"], m["eos_id"], m["unk_id"]), (tok.PAD_ID, tok.EOS_ID, tok.UNK_ID), name)
