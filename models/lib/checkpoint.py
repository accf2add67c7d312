"""Checkpoints of ``architecture.PackageModel``: into a model for export, or a ready model for sampling.

A checkpoint is the model's ``state_dict``, or ``{"state_dict": …, "vae_scaling_factor": s, …}``
as ``models.train.dit`` writes (``best.pt`` / ``last.pt``); ``s`` is the measured latent scale
of the trained VAE and overrides the config's ``vae.scaling_factor``.
"""

import torch

from models.lib.architecture import PackageModel
from models.lib.config import load_config
from models.lib.tokenizer import build_vocab

# Buffers recomputed from the config (position tables, frequencies): a checkpoint may lack them.
DERIVED_BUFFERS = ("spatial_pos", "temporal_freqs", "time_freqs")


def load_checkpoint(model, path):
    """Load weights strictly (derived buffers aside); returns the checkpoint's ``vae_scaling_factor`` (None when absent)."""
    state = torch.load(path, map_location="cpu")
    scale = None
    if isinstance(state, dict) and "state_dict" in state:
        scale = state.get("vae_scaling_factor")
        state = state["state_dict"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not any(b in k for b in DERIVED_BUFFERS)]
    if missing or unexpected:
        raise SystemExit("checkpoint mismatch: missing=%s unexpected=%s" % (missing, unexpected))
    return scale


def load_model(name, checkpoint):
    """(model in eval mode, config with the checkpoint's scaling factor, vocab) for sampling a checkpoint."""
    cfg = load_config(name)
    vocab = build_vocab()
    st = torch.load(checkpoint, map_location="cpu")
    if "vae_scaling_factor" in st:
        cfg["vae"]["scaling_factor"] = st["vae_scaling_factor"]
    sd = st["state_dict"] if "state_dict" in st else st
    model = PackageModel(cfg, len(vocab))
    model.load_state_dict(sd, strict=False)
    return model.eval(), cfg, vocab
