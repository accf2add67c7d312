"""ONNX export of the package parts with their fixed interface names and dynamic axes."""

import os

import onnx
import torch

from models.lib.config import latent_size

OPSET = 17

# ONNX values are single-assignment, so a graph output cannot reuse an input's
# name: the blocks read "hidden_states" and write "hidden_states_out".
_BATCH = {0: "batch"}
_VIDEO = {0: "batch", 1: "frames"}
_SEQ = {0: "batch", 1: "sequence"}


def interface(rel_path):
    if rel_path == "text_encoder.onnx":
        return ["input_ids"], ["hidden_states"], {"input_ids": _BATCH, "hidden_states": _BATCH}
    if rel_path == "transformer/embed.onnx":
        return (
            ["sample", "encoder_hidden_states", "timestep"],
            ["hidden_states", "temb"],
            {"sample": _VIDEO, "encoder_hidden_states": _BATCH, "timestep": _BATCH, "hidden_states": _SEQ, "temb": _BATCH},
        )
    if rel_path.startswith("transformer/block_"):
        return ["hidden_states", "temb"], ["hidden_states_out"], {"hidden_states": _SEQ, "temb": _BATCH, "hidden_states_out": _SEQ}
    if rel_path == "transformer/head.onnx":
        return ["hidden_states", "temb"], ["sample"], {"hidden_states": _SEQ, "temb": _BATCH, "sample": _VIDEO}
    if rel_path == "vae_decoder.onnx":
        return ["latents"], ["frames"], {"latents": _VIDEO, "frames": {0: "batch", 1: "num_frames"}}
    raise KeyError(rel_path)


def example_inputs(rel_path, cfg, batch=2, frames=3, seed=0):
    """Torch example inputs for tracing / checking (shapes only matter for export)."""
    g = torch.Generator().manual_seed(seed)
    L = cfg["tokenizer"]["max_tokens"]
    dt = cfg["text_encoder"]["hidden_size"]
    d = cfg["transformer"]["hidden_size"]
    c = cfg["latent"]["channels"]
    h, w = latent_size(cfg)
    p = cfg["transformer"]["patch_size"]
    s = L + frames * (h // p) * (w // p)
    if rel_path == "text_encoder.onnx":
        return (torch.randint(0, 50, (batch, L), generator=g, dtype=torch.int64),)
    if rel_path == "transformer/embed.onnx":
        return (
            torch.randn(batch, frames, c, h, w, generator=g),
            torch.randn(batch, L, dt, generator=g),
            torch.rand(batch, generator=g) * 999.0,
        )
    if rel_path.startswith("transformer/block_") or rel_path == "transformer/head.onnx":
        return (torch.randn(batch, s, d, generator=g), torch.randn(batch, d, generator=g))
    if rel_path == "vae_decoder.onnx":
        return (torch.randn(batch, frames, c, h, w, generator=g),)
    raise KeyError(rel_path)


def export_part(module, rel_path, cfg, out_dir):
    """Export one part to ``out_dir/rel_path``; returns the path. Single file, no external data."""
    path = os.path.join(out_dir, rel_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    inputs, outputs, axes = interface(rel_path)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            example_inputs(rel_path, cfg),
            path,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    model = onnx.load(path)
    model.producer_name = "spool-models"
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, path, save_as_external_data=False)
    return path

