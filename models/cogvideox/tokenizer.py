"""CogVideoX's tokenizer (T5's SentencePiece Unigram model) in the form the text-encoder worker loads.

The published checkpoint ships ``tokenizer/spiece.model`` (and a
``tokenizer_config.json``); the pipeline tokenizes with transformers' slow
``T5Tokenizer``: added tokens (``<pad>``, ``</s>``, ``<unk>`` and the 100
``<extra_id_N>``) are split out of the text first, every other stretch is
SentencePiece-encoded, ``</s>`` is appended (unless the ids already end with it),
truncation keeps ``</s>`` and ``<pad>`` fills up to 226 tokens.

``t5_tokenizer_json`` writes that model as a HuggingFace ``tokenizer.json``, the
way transformers' T5 converter does:

* model ``Unigram``: every piece with its score in id order, then
  ``<extra_id_99>`` … ``<extra_id_0>`` (ids len(pieces) … len(pieces)+99) with
  score 0, ``unk_id`` the model's;
* normalizer ``Sequence[Precompiled(charsmap), Strip(right), Replace(" {2,}" → "▁")]``:
  SentencePiece's own normalization table (``nmt_nfkc``) and its whitespace rules;
* pre-tokenizer ``Metaspace("▁", prepend_scheme "always")`` (``"first"`` for a
  tokenizer saved with ``legacy: false``);
* the special tokens as added tokens (not normalized), a ``Metaspace`` decoder;
  no post-processor: the worker truncates and appends ``</s>`` itself, as it
  does for every package.

``@huggingface/tokenizers`` 0.2.0 (Node) reads every part of it, but its
``Precompiled`` normalizer ignores the charsmap and approximates it with NFKC;
the worker (``stages/src/text-encoder/precompiled-charsmap.ts``) applies the
charsmap itself, exactly as SentencePiece does. ``ReferenceT5Tokenizer`` is the
Python reference of the whole procedure (SentencePiece itself plus the slow
tokenizer's added-token split), the one the parity checks compare against.
"""

import base64
import json
import os
import re

from models.cogvideox import spiece_model as spm_model

SPIECE_UNDERLINE = "\u2581"
EXTRA_IDS = 100
MAX_TOKENS = 226  # the pipeline's max_sequence_length
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


class TokenizerConversionError(ValueError):
    """The SentencePiece model does not follow T5's conventions."""


def check_t5_spiece(model):
    """Raise TokenizerConversionError unless ``model`` is a T5-style Unigram model."""
    problems = []
    if model.model_type != spm_model.UNIGRAM:
        problems.append("model type %d is not Unigram (1)" % model.model_type)
    for name, want, got in (("pad", PAD_ID, model.pad_id), ("eos", EOS_ID, model.eos_id), ("unk", UNK_ID, model.unk_id)):
        if got != want:
            problems.append("%s id is %d, T5 has %d" % (name, got, want))
    if model.bos_id != -1:
        problems.append("the model has a bos id (%d); T5 has none" % model.bos_id)
    if not problems:
        names = [p.text for p in model.pieces[:3]]
        if names != [PAD, EOS, UNK]:
            problems.append("pieces 0..2 are %s, T5 has %s" % (names, [PAD, EOS, UNK]))
    others = sorted({p.type for p in model.pieces} - {spm_model.NORMAL, spm_model.UNKNOWN, spm_model.CONTROL})
    if others:
        problems.append("piece types %s (user-defined, unused or byte pieces) are not supported" % others)
    if not (model.add_dummy_prefix and model.remove_extra_whitespaces and model.escape_whitespaces):
        problems.append("the normalizer must add the dummy prefix, remove extra whitespace and escape whitespace (T5 does)")
    if problems:
        raise TokenizerConversionError("not a T5 SentencePiece model: " + "; ".join(problems))


def extra_id_tokens(n_pieces, extra_ids=EXTRA_IDS):
    """[(id, "<extra_id_N>")]: ``<extra_id_0>`` is the last id, as in transformers' T5Tokenizer."""
    return [(n_pieces + extra_ids - 1 - i, "<extra_id_%d>" % i) for i in range(extra_ids)]


def special_tokens(model, extra_ids=EXTRA_IDS):
    """[(id, content)] of every added token, in id order."""
    own = [(i, p.text) for i, p in enumerate(model.pieces) if p.type in (spm_model.CONTROL, spm_model.UNKNOWN)]
    return sorted(own + extra_id_tokens(len(model.pieces), extra_ids))


def t5_tokenizer_json(model, extra_ids=EXTRA_IDS, legacy=True):
    """The ``tokenizer.json`` dict of a T5 SentencePiece model (see the module docstring)."""
    check_t5_spiece(model)
    vocab = [[p.text, float(p.score)] for p in model.pieces]
    vocab += [[content, 0.0] for _, content in sorted(extra_id_tokens(len(model.pieces), extra_ids))]
    added = [
        {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, c in special_tokens(model, extra_ids)
    ]
    normalizers = [
        {"type": "Strip", "strip_left": False, "strip_right": True},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": SPIECE_UNDERLINE},
    ]
    if model.precompiled_charsmap:
        charsmap = base64.b64encode(model.precompiled_charsmap).decode("ascii")
        normalizers.insert(0, {"type": "Precompiled", "precompiled_charsmap": charsmap})
    prepend = "always" if legacy else "first"
    metaspace = {"type": "Metaspace", "replacement": SPIECE_UNDERLINE, "prepend_scheme": prepend, "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": metaspace,
        "post_processor": None,  # the worker appends </s> itself (as for every package), after truncating
        "decoder": dict(metaspace),
        "model": {"type": "Unigram", "unk_id": model.unk_id, "vocab": vocab, "byte_fallback": False},
    }


def t5_tokenizer_config(max_tokens=MAX_TOKENS, extra_ids=EXTRA_IDS, legacy=True):
    """``tokenizer_config.json``: the special tokens (the Node tokenizer reads ``eos_token`` from here)."""
    return {
        "tokenizer_class": "T5Tokenizer",
        "eos_token": EOS,
        "unk_token": UNK,
        "pad_token": PAD,
        "extra_ids": extra_ids,
        "additional_special_tokens": ["<extra_id_%d>" % i for i in range(extra_ids)],
        "legacy": legacy,
        "model_max_length": max_tokens,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": True,
    }


def write_t5_tokenizer(spiece_path, out_dir, max_tokens=MAX_TOKENS, extra_ids=EXTRA_IDS, legacy=True):
    """Write ``tokenizer.json`` and ``tokenizer_config.json``; return the manifest's ``tokenizer`` fields."""
    model = spm_model.read_spiece(spiece_path)
    data = t5_tokenizer_json(model, extra_ids, legacy)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(t5_tokenizer_config(max_tokens, extra_ids, legacy), f, indent=2)
        f.write("\n")
    return {
        "file": "tokenizer.json",
        "config": "tokenizer_config.json",
        "max_tokens": max_tokens,
        "pad_id": model.pad_id,
        "eos_id": model.eos_id,
        "unk_id": model.unk_id,
    }


def convert_tokenizer_dir(tokenizer_dir, out_dir, max_tokens=MAX_TOKENS):
    """A published ``tokenizer/`` folder (``spiece.model``, optional ``tokenizer_config.json``) → the package's files.

    ``extra_ids`` and ``legacy`` come from the folder's config when it has them
    (transformers' defaults, 100 and true, otherwise). Returns the manifest's
    ``tokenizer`` fields.
    """
    spiece = os.path.join(tokenizer_dir, "spiece.model")
    if not os.path.isfile(spiece):
        raise TokenizerConversionError("%s has no spiece.model (a T5 tokenizer folder holds one)" % tokenizer_dir)
    config = {}
    path = os.path.join(tokenizer_dir, "tokenizer_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    extra_ids = int(config.get("extra_ids", EXTRA_IDS))
    legacy = config.get("legacy")
    return write_t5_tokenizer(spiece, out_dir, max_tokens, extra_ids, True if legacy is None else bool(legacy))


class ReferenceT5Tokenizer:
    """The pipeline's tokenization in Python: SentencePiece itself plus the slow T5Tokenizer's added-token split (legacy)."""

    def __init__(self, spiece_path, extra_ids=EXTRA_IDS):
        import sentencepiece  # Debian's python3-sentencepiece

        self.sp = sentencepiece.SentencePieceProcessor(model_file=spiece_path)
        model = spm_model.read_spiece(spiece_path)
        check_t5_spiece(model)
        self.special = {content: i for i, content in special_tokens(model, extra_ids)}
        alternatives = sorted(self.special, key=len, reverse=True)  # longest first: <extra_id_10> before <extra_id_1>
        self._split = re.compile("(%s)" % "|".join(re.escape(s) for s in alternatives))

    def ids(self, text):
        """Token ids of one prompt, no ``</s>``."""
        out = []
        for i, chunk in enumerate(self._split.split(text)):
            if i % 2:
                out.append(self.special[chunk])
            elif chunk:
                out.extend(self.sp.encode(chunk))
        return out

    def input_ids(self, text, max_tokens=MAX_TOKENS):
        """The encoder's input row: truncated to max_tokens - 1, ``</s>`` unless already last, padded."""
        ids = self.ids(text)[: max_tokens - 1]
        if not ids or ids[-1] != EOS_ID:
            ids.append(EOS_ID)
        return ids + [PAD_ID] * (max_tokens - len(ids))
