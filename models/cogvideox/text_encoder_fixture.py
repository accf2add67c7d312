"""A tiny T5 text encoder and its tokenizer, exported the way a real CogVideoX one is, with the references to check them.

    /usr/bin/python3 -m models.cogvideox.text_encoder_fixture --out DIR [--seed 0]

writes to DIR:

* ``spiece.model`` (``tiny_spiece``), ``tokenizer.json``, ``tokenizer_config.json``;
* ``text_encoder.onnx`` (float32, one file), ``external/text_encoder.onnx`` +
  ``text_encoder.onnx.data`` (external data forced), ``float16/text_encoder.onnx``;
* ``parity.json``: ``text_encoder.onnx`` on two tokenized prompts (batch 2, 226
  tokens) and ``short`` (batch 1, 17 tokens), whole PyTorch outputs (format ``spool-parity-1``);
* ``tokens.json``: the parity prompts and SentencePiece's input rows for them;
* ``codepoints.json``: SentencePiece's ids of "a{c}b" for every code point c,
  and of "{c}a" / "a{c}" below U+3400;
* ``fixture.json``: the manifest's ``tokenizer`` and ``text_encoder`` fields and the export details.

stages/test/t5-text-encoder.test.ts runs onnxruntime-node and the worker's tokenizer against them.
"""

import argparse
import json
import os

import torch

from models.cogvideox import t5, t5_onnx, tiny_spiece
from models.cogvideox import tokenizer as t5_tokenizer

PARITY_PROMPTS = [
    "A cinematic shot of a golden retriever running across a meadow at sunset, 4k",
    "Close-up: a café in Zürich at night, neon reflections on the wet street.",
]
FULL = 1 << 20  # outputs stored whole (a package's parity.json summarises those over 2048 values)


def _dump(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.write("\n")


def codepoint_cases():
    """(texts, kinds): every scalar value between two letters, and below U+3400 also leading and trailing."""
    cps = [c for c in range(1, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    texts = ["a%sb" % chr(c) for c in cps]
    small = [c for c in cps if c < 0x3400]
    texts += ["%sa" % chr(c) for c in small] + ["a%s" % chr(c) for c in small]
    return cps, small, texts


def write_fixture(out, seed=0, max_tokens=t5_tokenizer.MAX_TOKENS):
    os.makedirs(out, exist_ok=True)
    spiece = tiny_spiece.write_tiny_spiece(os.path.join(out, "spiece.model"), seed)
    tokenizer_fields = t5_tokenizer.write_t5_tokenizer(spiece, out, max_tokens)
    ref = t5_tokenizer.ReferenceT5Tokenizer(spiece)

    cfg = t5.load_t5_config("tiny")
    model = t5.init_t5_weights(t5.T5Encoder(cfg), seed).eval()
    exports = {
        "float32": t5_onnx.export_t5_module(model, os.path.join(out, "text_encoder.onnx")),
        "external": t5_onnx.export_t5_module(model, os.path.join(out, "external", "text_encoder.onnx"), external_data=True),
        "float16": t5_onnx.export_t5_module(model, os.path.join(out, "float16", "text_encoder.onnx"), dtype="float16"),
    }
    for e in exports.values():
        e["path"] = os.path.relpath(e["path"], out)

    ids = torch.tensor([ref.input_ids(p, max_tokens) for p in PARITY_PROMPTS], dtype=torch.int64)
    short = torch.tensor([ref.input_ids(PARITY_PROMPTS[1], 17)], dtype=torch.int64)
    _dump(os.path.join(out, "parity.json"), {
        "format": "spool-parity-1",
        "tolerance": {"max_abs_diff": 1e-4, "sum_rel": 1e-4},
        "prompts": PARITY_PROMPTS,
        "files": {
            "text_encoder.onnx": t5_onnx.text_encoder_parity(model, ids, full_limit=FULL),
            "short": t5_onnx.text_encoder_parity(model, short, full_limit=FULL),
        },
    })

    prompts = tiny_spiece.parity_prompts(seed)
    _dump(os.path.join(out, "tokens.json"), {
        "prompts": prompts,
        "raw": [ref.ids(p) for p in prompts],
        "input_ids": [ref.input_ids(p, max_tokens) for p in prompts],
    })
    cps, small, texts = codepoint_cases()
    _dump(os.path.join(out, "codepoints.json"), {"between": cps, "edges": small, "ids": ref.sp.encode(texts)})

    info = {
        "tokenizer": tokenizer_fields,
        "text_encoder": {"file": "text_encoder.onnx", "hidden_size": cfg.d_model},
        "vocab_size": cfg.vocab_size,
        "tokenizer_ids": len(ref.sp) + t5_tokenizer.EXTRA_IDS,
        "exports": exports,
    }
    _dump(os.path.join(out, "fixture.json"), info)
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write (created)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=t5_tokenizer.MAX_TOKENS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    info = write_fixture(args.out, args.seed, args.max_tokens)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
