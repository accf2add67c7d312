"""Parity fixture: seeded inputs and PyTorch outputs of every ONNX file of a package.

Format of ``parity.json``::

    {
      "format": "spool-parity-1",
      "note": "...",
      "tolerance": {"max_abs_diff": 1e-4},
      "files": {
        "<file relative path>": {
          "inputs":  {"<name>": TENSOR, ...},
          "outputs": {"<name>": TENSOR, ...}
        }
      }
    }

TENSOR is either full data::

    {"dtype": "float32" | "int64", "shape": [...], "data": [flat, row-major]}

or, for outputs larger than ``full_limit`` elements, a summary::

    {"dtype": "float32", "shape": [...], "size": N, "data_prefix": [first 256 values],
     "sum": <sum of all values>, "abs_sum": <sum of |values|>}

Inputs are always stored in full, rounded to 3 decimals (the PyTorch outputs
are computed from the rounded float32 values, so they are exact inputs).
Outputs are written with 7 significant digits. The pipeline chain is used:
text_encoder -> embed -> blocks -> head, so the fixtures carry realistic values.
"""

import json

import numpy as np
import torch

from models.lib.config import latent_size
from models.lib.onnx_export import interface
from models.lib.tokenizer import encode_prompt

PARITY_PROMPTS = [
    "A red circle moving left over the ocean at sunset",
    "Birds flying across a gray sky, snow falling at night",
]
PREFIX = 256
INPUT_DECIMALS = 3


def _round_input(t):
    return torch.from_numpy(np.round(t.detach().numpy().astype(np.float64), INPUT_DECIMALS).astype(np.float32))


def _fmt_out(x):
    return float("%.7g" % x)


def _tensor(t, is_input, full_limit):
    a = t.detach().numpy()
    entry = {"dtype": "int64" if a.dtype == np.int64 else "float32", "shape": list(a.shape)}
    flat = a.reshape(-1)
    if a.dtype == np.int64:
        entry["data"] = [int(v) for v in flat]
    elif is_input:
        entry["data"] = [round(float(v), INPUT_DECIMALS) for v in flat]
    elif flat.size <= full_limit:
        entry["data"] = [_fmt_out(v) for v in flat]
    else:
        entry["size"] = int(flat.size)
        entry["data_prefix"] = [_fmt_out(v) for v in flat[:PREFIX]]
        entry["sum"] = float(flat.astype(np.float64).sum())
        entry["abs_sum"] = float(np.abs(flat.astype(np.float64)).sum())
    return entry


def build_parity(model, cfg, vocab, seed=0, batch=2, frames=3, full_limit=2048):
    """Run every part in PyTorch on seeded inputs; return the fixture dict."""
    L = cfg["tokenizer"]["max_tokens"]
    c = cfg["latent"]["channels"]
    h, w = latent_size(cfg)
    g = torch.Generator().manual_seed(seed + 1000)
    prompts = (PARITY_PROMPTS * batch)[:batch]
    ids = torch.tensor([encode_prompt(p, vocab, L) for p in prompts], dtype=torch.int64)
    sample = _round_input(torch.randn(batch, frames, c, h, w, generator=g))
    timestep = torch.tensor(([999.0, 421.0] * batch)[:batch], dtype=torch.float32)
    latents = _round_input(torch.randn(batch, frames, c, h, w, generator=g) * 0.7)

    files = {}
    parts = model.parts()

    def record(rel, inputs):
        in_names, out_names, _ = interface(rel)
        with torch.no_grad():
            out = parts[rel](*inputs)
        out = out if isinstance(out, tuple) else (out,)
        files[rel] = {
            "inputs": {n: _tensor(t, True, full_limit) for n, t in zip(in_names, inputs)},
            "outputs": {n: _tensor(t, False, full_limit) for n, t in zip(out_names, out)},
        }
        return out

    model.eval()
    (text,) = record("text_encoder.onnx", (ids,))
    text = _round_input(text)
    hidden, temb = record("transformer/embed.onnx", (sample, text, timestep))
    temb = _round_input(temb)
    for rel in parts:
        if rel.startswith("transformer/block_"):
            (hidden,) = record(rel, (_round_input(hidden), temb))
    record("transformer/head.onnx", (_round_input(hidden), temb))
    record("vae_decoder.onnx", (latents,))
    return {
        "format": "spool-parity-1",
        "note": (
            "Inputs and PyTorch outputs for every ONNX file (batch %d, %d latent frames). "
            "Outputs with more than %d elements are summarised: data_prefix holds the first %d "
            "values, sum/abs_sum cover the whole tensor, size is the element count." % (batch, frames, full_limit, PREFIX)
        ),
        "tolerance": {"max_abs_diff": 1e-4, "sum_rel": 1e-4},
        "prompts": prompts,
        "files": files,
    }


def write_parity(path, fixture):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
