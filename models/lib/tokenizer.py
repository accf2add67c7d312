"""Word-level tokenizer for the caption world of the small CogVideoX-shaped models.

Writes a HuggingFace ``tokenizers`` JSON (WordLevel model) plus a
``tokenizer_config.json``. The files load in Node with
``new Tokenizer(tokenizerJson, tokenizerConfig)`` from ``@huggingface/tokenizers``
and in Python ``tokenizers``.

Pipeline: normalizer NFD -> Lowercase -> StripAccents; pre-tokenizer
``BertPreTokenizer`` (splits on whitespace and on every punctuation character,
keeping punctuation as separate tokens); model WordLevel with ``<unk>``.

Special ids are fixed: ``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2. The caller
encodes, maps unknown words to ``<unk>``, truncates to ``max_tokens - 1``,
appends ``</s>`` and pads with ``<pad>`` up to ``max_tokens``
(see ``encode_prompt``, the Python reference of that procedure).
"""

import json
import unicodedata

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2

# Order matters: ids are assigned in this order after the special tokens.
WORD_GROUPS = [
    # shapes
    "circle square triangle shape shapes dot ball box",
    # colours
    "red orange yellow green blue purple white black gray grey pink brown cyan magenta gold golden silver dark light bright",
    # motion
    "moving move moves going goes drifting drifts sliding slides left right up down upward upwards downward downwards "
    "rising rises falling falls fall bouncing bounces spinning spins rotating turning flying flies floating floats "
    "running walking swimming slowly quickly fast slow still static towards toward from",
    # scene
    "sunset sunrise sun moon stars star ocean sea waves wave beach birds bird sky clouds cloud snow snowflakes night day "
    "rain city skyline buildings street lights forest trees tree mountain mountains river lake water fire smoke "
    "field grass flowers desert road car cars boat fish cat dog horizon",
    # filler
    "a an the on over across to of with in into at by through under above below behind near around along "
    "small big large tiny huge background backdrop foreground scene video clip view shot camera "
    "and or is are it its this that there while as one two three many some several each other "
    "very slightly gently softly center middle top bottom corner edge side frame plain empty",
    # punctuation kept by the pre-tokenizer
    ". , ! ? ; : ' \" - ( )",
]


def build_vocab():
    vocab = {}
    for tok in SPECIAL_TOKENS:
        vocab[tok] = len(vocab)
    for group in WORD_GROUPS:
        for word in group.split():
            if word not in vocab:
                vocab[word] = len(vocab)
    return vocab


def tokenizer_json(vocab):
    added = [
        {
            "id": vocab[tok],
            "content": tok,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for tok in SPECIAL_TOKENS
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"}],
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
    }


def tokenizer_config(max_tokens):
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "model_max_length": max_tokens,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": True,
    }


def write_tokenizer(out_dir, max_tokens):
    """Write tokenizer.json and tokenizer_config.json; return the vocab."""
    import os

    vocab = build_vocab()
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(max_tokens), f, indent=2)
        f.write("\n")
    return vocab


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def pre_tokenize(text):
    """Python reference of normalizer + BertPreTokenizer."""
    text = unicodedata.normalize("NFD", text).lower()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words, cur = [], ""
    for ch in text:
        if ch.isspace():
            if cur:
                words.append(cur)
            cur = ""
        elif _is_punctuation(ch):
            if cur:
                words.append(cur)
            words.append(ch)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    return words


def encode_prompt(text, vocab, max_tokens):
    """Reference of the serving-side procedure: ids, truncate, ``</s>``, pad."""
    ids = [vocab.get(w, UNK_ID) for w in pre_tokenize(text)][: max_tokens - 1]
    ids.append(EOS_ID)
    ids += [PAD_ID] * (max_tokens - len(ids))
    return ids
