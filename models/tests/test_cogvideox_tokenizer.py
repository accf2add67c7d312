"""CogVideoX's tokenizer: reading spiece.model, its tokenizer.json, the pipeline's reference tokenization, the tiny model."""

import base64
import io
import json
import os
import tempfile
import unittest

from models.cogvideox import spiece_model, tiny_spiece
from models.cogvideox import tokenizer as tok

try:
    import sentencepiece
except ModuleNotFoundError:  # Debian's python3-sentencepiece
    sentencepiece = None


@unittest.skipIf(sentencepiece is None, "needs sentencepiece (python3-sentencepiece)")
class T5TokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.spiece = tiny_spiece.write_tiny_spiece(os.path.join(cls.tmp.name, "spiece.model"), seed=0)
        cls.sp = sentencepiece.SentencePieceProcessor(model_file=cls.spiece)
        cls.model = spiece_model.read_spiece(cls.spiece)
        cls.ref = tok.ReferenceT5Tokenizer(cls.spiece)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_reader_agrees_with_sentencepiece(self):
        m = self.model
        self.assertEqual(len(m.pieces), self.sp.get_piece_size())
        self.assertEqual(len(m.pieces), tiny_spiece.TINY_PIECES)
        for i, p in enumerate(m.pieces):
            self.assertEqual(p.text, self.sp.id_to_piece(i))
            self.assertEqual(p.score, self.sp.get_score(i))
            self.assertEqual(p.type == spiece_model.CONTROL, self.sp.is_control(i))
            self.assertEqual(p.type == spiece_model.UNKNOWN, self.sp.is_unknown(i))
        self.assertEqual((m.pad_id, m.eos_id, m.unk_id, m.bos_id), (0, 1, 2, -1))
        self.assertEqual((m.model_type, m.normalizer_name), (spiece_model.UNIGRAM, "nmt_nfkc"))
        self.assertTrue(m.add_dummy_prefix and m.remove_extra_whitespaces and m.escape_whitespaces)
        trie_bytes = int.from_bytes(m.precompiled_charsmap[:4], "little")
        self.assertLess(trie_bytes + 4, len(m.precompiled_charsmap))

    def test_tiny_model_is_reproducible_and_fits_the_tiny_encoder(self):
        again = tiny_spiece.write_tiny_spiece(os.path.join(self.tmp.name, "again.model"), seed=0)
        with open(self.spiece, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(tiny_spiece.TINY_VOCAB_SIZE % 128, 0)
        self.assertGreaterEqual(tiny_spiece.TINY_VOCAB_SIZE, tiny_spiece.TINY_PIECES + tok.EXTRA_IDS)
        # known and unknown text: accented words are pieces, CJK and emoji are not
        self.assertNotIn(tok.UNK_ID, self.ref.ids("A cinematic shot of a café in Zürich, 1080p"))
        self.assertIn(tok.UNK_ID, self.ref.ids("日本 😀"))

    def test_tokenizer_json_is_transformers_t5_layout(self):
        data = tok.t5_tokenizer_json(self.model)
        vocab = data["model"]["vocab"]
        n = len(self.model.pieces)
        self.assertEqual(len(vocab), n + 100)
        self.assertEqual(vocab[:3], [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]])
        self.assertEqual((vocab[n][0], vocab[n + 99][0]), ("<extra_id_99>", "<extra_id_0>"))
        self.assertEqual(data["model"]["unk_id"], 2)
        added = {t["content"]: t["id"] for t in data["added_tokens"]}
        self.assertEqual(len(added), 103)
        self.assertEqual((added["<pad>"], added["</s>"], added["<unk>"], added["<extra_id_0>"]), (0, 1, 2, n + 99))
        self.assertFalse(any(t["normalized"] for t in data["added_tokens"]))
        steps = data["normalizer"]["normalizers"]
        self.assertEqual([s["type"] for s in steps], ["Precompiled", "Strip", "Replace"])
        self.assertEqual(base64.b64decode(steps[0]["precompiled_charsmap"]), self.model.precompiled_charsmap)
        self.assertEqual(data["pre_tokenizer"], {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True})
        self.assertEqual(tok.t5_tokenizer_json(self.model, legacy=False)["pre_tokenizer"]["prepend_scheme"], "first")

    def test_writes_the_files_and_manifest_fields(self):
        out = os.path.join(self.tmp.name, "package")
        fields = tok.write_t5_tokenizer(self.spiece, out)
        self.assertEqual(fields, {"file": "tokenizer.json", "config": "tokenizer_config.json", "max_tokens": 226, "pad_id": 0, "eos_id": 1, "unk_id": 2})
        with open(os.path.join(out, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        self.assertEqual((config["eos_token"], config["pad_token"], config["unk_token"], config["legacy"]), ("</s>", "<pad>", "<unk>", True))

    def test_a_published_tokenizer_folder_converts_with_its_options(self):
        folder = os.path.join(self.tmp.name, "tokenizer")
        os.makedirs(folder)
        with open(self.spiece, "rb") as src, open(os.path.join(folder, "spiece.model"), "wb") as dst:
            dst.write(src.read())
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump({"extra_ids": 100, "legacy": False, "model_max_length": 226}, f)
        out = os.path.join(self.tmp.name, "converted")
        self.assertEqual(tok.convert_tokenizer_dir(folder, out)["max_tokens"], 226)
        with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["pre_tokenizer"]["prepend_scheme"], "first")
        with self.assertRaisesRegex(tok.TokenizerConversionError, "spiece.model"):
            tok.convert_tokenizer_dir(self.tmp.name + "/nowhere", out)

    def test_refuses_a_model_without_t5_conventions(self):
        buf = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(tiny_spiece.tiny_corpus(0, 300)), model_writer=buf, vocab_size=200, num_threads=1, minloglevel=2
        )  # sentencepiece's defaults: <unk> 0, <s> 1, </s> 2, no <pad>
        with self.assertRaisesRegex(tok.TokenizerConversionError, "pad id is -1, T5 has 0.*bos id"):
            tok.check_t5_spiece(spiece_model.parse_spiece(buf.getvalue()))
        with self.assertRaisesRegex(spiece_model.SpieceError, "not a SentencePiece model"):
            spiece_model.parse_spiece(b"")

    def test_reference_rows_follow_the_pipeline(self):
        L = tok.MAX_TOKENS
        ids = self.ref.ids("a red cat")
        row = self.ref.input_ids("a red cat")
        self.assertEqual(row, ids + [tok.EOS_ID] + [tok.PAD_ID] * (L - len(ids) - 1))
        self.assertEqual(self.ref.input_ids(""), [tok.EOS_ID] + [tok.PAD_ID] * (L - 1))
        long_row = self.ref.input_ids("cat " * 400)
        self.assertEqual((len(long_row), long_row[-1], long_row.count(tok.EOS_ID)), (L, tok.EOS_ID, 1))
        self.assertEqual(long_row[:-1], self.ref.ids("cat " * 400)[: L - 1])
        # added tokens are split out before SentencePiece; </s> typed last is not doubled
        self.assertEqual(self.ref.ids("a</s>b"), self.sp.encode("a") + [tok.EOS_ID] + self.sp.encode("b"))
        self.assertEqual(self.ref.ids("x <extra_id_0>"), self.sp.encode("x") + [len(self.model.pieces) + 99])
        self.assertEqual(self.ref.ids("<extra_id_100>"), self.sp.encode("<extra_id_100>"))
        ends = self.ref.input_ids("red </s>")
        self.assertEqual(ends[: len(self.sp.encode("red")) + 2], self.sp.encode("red") + [tok.EOS_ID, tok.PAD_ID])

    def test_parity_prompts_cover_the_hard_cases(self):
        prompts = tiny_spiece.parity_prompts()
        self.assertGreaterEqual(len(prompts), 300)
        lengths = [len(self.ref.ids(p)) for p in prompts]
        self.assertGreaterEqual(sum(n > tok.MAX_TOKENS - 1 for n in lengths), 5)
        self.assertTrue(any("</s>" in p for p in prompts) and any("<extra_id_" in p for p in prompts))
        self.assertTrue(any(tok.UNK_ID in self.ref.ids(p) for p in prompts))
        self.assertIn("", prompts)
