"""Parity fixture and PyTorch references of the transformer's stage graphs.

``transformer_parity`` records seeded inputs and float32 PyTorch outputs of embed,
blocks and head, chained as the pipeline runs them, in ``models.lib.parity``'s
format (``parity.json``). ``reference`` and ``write_full_size_rotary`` are what
``stages/test/cogvideox-transformer.test.ts`` compares onnxruntime-node and the
workers' rotary tables with.
"""

import os

import numpy as np
import torch

from models.cogvideox.embeddings import rotary_3d
from models.cogvideox.transformer import BlockStage, EmbedStage, HeadStage, load_transformer_config
from models.cogvideox.transformer_export import (
    EMBED,
    HEAD,
    ROTARY_THETA,
    block_file,
    interface,
    manifest_fields,
    rotary_tables,
    stage_prefixes,
    weights,
)
from models.lib.parity import _round_input, _tensor


def transformer_parity(model, height=None, width=None, batch=2, frames=2, seed=0, blocks=None, full_limit=2048, load=None):
    """Seeded inputs and float32 PyTorch outputs of embed, blocks and head, chained (``models.lib.parity``'s format).

    Returns ``{"files": {rel_path: {"inputs", "outputs"}}}`` to merge into a package's
    parity.json. ``blocks`` limits the blocks recorded (all by default; the chain runs
    through every block either way). ``load`` as for ``export_transformer``.
    """
    cfg = model.config
    height = height or cfg.sample_height
    width = width or cfg.sample_width
    g = torch.Generator().manual_seed(seed + 1000)
    sample = _round_input(torch.randn(batch, frames, cfg.in_channels, height, width, generator=g))
    text = _round_input(torch.randn(batch, cfg.max_text_seq_length, cfg.text_embed_dim, generator=g))
    timestep = torch.tensor(([999.0, 421.0] * batch)[:batch])
    rotary = tuple(_round_input(t) for t in rotary_tables(cfg, height, width, frames)) if model.uses_rotary else ()
    files = {}

    def record(rel, kind, stage, args, keep=True, index=None):
        names_in, names_out, _ = interface(kind, model.uses_rotary)
        with torch.no_grad(), weights(model, stage_prefixes(kind, index), load):
            out = stage(*args)
        out = out if isinstance(out, tuple) else (out,)
        if keep:
            files[rel] = {
                "inputs": {n: _tensor(t, True, full_limit) for n, t in zip(names_in, args)},
                "outputs": {n: _tensor(t, False, full_limit) for n, t in zip(names_out, out)},
            }
        return out

    model.eval()
    hidden, temb = record(EMBED, "embed", EmbedStage(model, height, width, frames), (sample, text, timestep))
    temb = _round_input(temb)
    for i in range(cfg.num_layers):
        keep = blocks is None or i in blocks
        (hidden,) = record(block_file(i), "block", BlockStage(model, i), (_round_input(hidden), temb) + rotary, keep, i)
    record(HEAD, "head", HeadStage(model, height, width), (_round_input(hidden), temb))
    return {"files": files}


def reference(model, height, width, frames, seed=0):
    """PyTorch references for a test: the whole forward, the embed at 1 and all frames, rotary tables."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed + 2000)
    t = torch.tensor([999.0, 421.0])
    out = {"frames": frames, "height": height, "width": width}

    def entry(x):
        return {"dtype": "float32", "shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).numpy()]}

    sample = _round_input(torch.randn(2, frames, cfg.in_channels, height, width, generator=g))
    text = _round_input(torch.randn(2, cfg.max_text_seq_length, cfg.text_embed_dim, generator=g))
    rotary = rotary_tables(cfg, height, width, frames) if model.uses_rotary else None
    with torch.no_grad():
        v = model(sample, text, t, rotary)
    out["forward"] = {"inputs": {"sample": entry(sample), "encoder_hidden_states": entry(text), "timestep": entry(t)},
                      "model_output": entry(v)}
    out["embed"] = []
    for f in sorted({1, EmbedStage(model, height, width).max_frames}):
        s = _round_input(torch.randn(1, f, cfg.in_channels, height, width, generator=g))
        with torch.no_grad():
            # the table recomputed for exactly f frames, as the pipeline does for a size other than the config's
            hidden, temb = EmbedStage(model, height, width, f)(s, text[:1], t[:1])
        out["embed"].append({"inputs": {"sample": entry(s), "encoder_hidden_states": entry(text[:1]), "timestep": entry(t[:1])},
                             "hidden_states": entry(hidden), "temb": entry(temb)})
    p = cfg.patch_size
    grids = [(height // p, width // p)] + [(height // p, max(1, width // p - 2))]  # the served grid and a cropped one
    out["rotary"] = []
    for gh, gw in grids:
        for f in (1, 2, 13):
            cos, sin = rotary_3d(cfg.attention_head_dim, gh, gw, f, cfg.sample_height // p, cfg.sample_width // p, ROTARY_THETA)
            out["rotary"].append({"grid_height": gh, "grid_width": gw, "frames": f, "cos": entry(cos), "sin": entry(sin)})
    return out


def write_full_size_rotary(path):
    """The published 5B's tables for 720 x 480 and 13 latent frames, raw little-endian float32 (cos, then sin)."""
    cfg = load_transformer_config("transformer-5b")
    cos, sin = rotary_tables(cfg, cfg.sample_height, cfg.sample_width, cfg.latent_frames)
    np.concatenate([cos.numpy().reshape(-1), sin.numpy().reshape(-1)]).astype("<f4").tofile(path)
    p = cfg.patch_size
    return {"file": os.path.basename(path), "grid_height": cfg.sample_height // p, "grid_width": cfg.sample_width // p,
            "frames": cfg.latent_frames, "rotary": manifest_fields(cfg)["rotary"]}
