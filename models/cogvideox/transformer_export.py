"""ONNX stage graphs of the CogVideoX transformer, their parity fixture and manifest fields.

``export_transformer(model, out_dir, ...)`` writes, under ``out_dir``::

    transformer/embed.onnx      sample, encoder_hidden_states, timestep -> hidden_states, temb
    transformer/block_NN.onnx   hidden_states, temb (+ rotary_cos, rotary_sin) -> hidden_states_out
    transformer/head.onnx       hidden_states, temb -> sample

opset 17, float32 inputs and outputs, dynamic batch and latent frames (the
latent height and width are fixed at export). A block's attention is one
``com.microsoft::MultiHeadAttention`` node (``fused_attention``; the block graphs
also import that domain, version 1), so no graph holds the [B, heads, S, S] scores. ``dtype`` chooses the precision
inside: ``fp32``, or ``fp16`` / ``bf16`` weights and arithmetic (the timestep
sinusoid and the rotary products stay float32, as in the pipeline). A reduced
precision graph is traced in float64 with the float32 regions cast explicitly,
then every float64 tensor becomes the target type, so fp16 and bf16 graphs
have the same structure (``onnx_files``). A file whose weights exceed
``external_data_threshold`` (2 GB) keeps them in ``<file>.data`` beside it.
``load`` exports a model built on the meta device stage by stage from a weight
reader; ``manifest_fields`` is the manifest's ``transformer`` section. The parity
fixture is ``transformer_parity.transformer_parity``.

Entry point for tests and experiments (random weights, published structure)::

    python3 -m models.cogvideox.transformer_export --config transformer-5b-tiny --out DIR
"""

import argparse
import contextlib
import copy
import json
import os
import tempfile

import onnx
import torch

from models.cogvideox import fused_attention
from models.cogvideox.embeddings import rotary_3d
from models.cogvideox.onnx_files import DTYPES, EXTERNAL_DATA_THRESHOLD, retype_float64, save_graph
from models.cogvideox.transformer import (
    BlockStage,
    CogVideoXTransformer,
    EmbedStage,
    HeadStage,
    load_transformer_config,
)

OPSET = 17
ROTARY_THETA = 10000.0

EMBED = "transformer/embed.onnx"
HEAD = "transformer/head.onnx"


def block_file(i):
    return "transformer/block_%02d.onnx" % i


# Submodules (state_dict prefixes) each stage runs.
def stage_prefixes(kind, index=None):
    if kind == "embed":
        return ["patch_embed.", "time_embedding."]
    if kind == "block":
        return ["transformer_blocks.%d." % index]
    return ["norm_final.", "norm_out.", "proj_out."]


@contextlib.contextmanager
def weights(model, prefixes, load):
    """With ``load`` (name -> tensor, e.g. a safetensors reader), a model built on the meta device gets the
    weights under ``prefixes`` for the duration, and gives the memory back after; without it, nothing to do."""
    if load is None:
        yield
        return
    modules = [model.get_submodule(p.rstrip(".")) for p in prefixes]
    for prefix, module in zip(prefixes, modules):
        module.to_empty(device="cpu")
        with torch.no_grad():
            for name, t in module.state_dict(keep_vars=True).items():
                value = load(prefix + name)
                if tuple(value.shape) != tuple(t.shape):
                    raise ValueError("%s%s has shape %s in the checkpoint, the model needs %s" % (prefix, name, tuple(value.shape), tuple(t.shape)))
                t.copy_(value)
    try:
        yield
    finally:
        for module in modules:
            module.to_empty(device="meta")


def interface(kind, rotary):
    """(input names, output names, dynamic axes) of an embed, block or head graph."""
    video = {0: "batch", 1: "frames"}
    seq = {0: "batch", 1: "sequence"}
    batch = {0: "batch"}
    if kind == "embed":
        return (
            ["sample", "encoder_hidden_states", "timestep"],
            ["hidden_states", "temb"],
            {"sample": video, "encoder_hidden_states": batch, "timestep": batch, "hidden_states": seq, "temb": batch},
        )
    if kind == "block":
        names = ["hidden_states", "temb"] + (["rotary_cos", "rotary_sin"] if rotary else [])
        axes = {"hidden_states": seq, "temb": batch, "hidden_states_out": seq}
        if rotary:
            axes.update({"rotary_cos": {0: "video_tokens"}, "rotary_sin": {0: "video_tokens"}})
        return names, ["hidden_states_out"], axes
    if kind == "head":
        return ["hidden_states", "temb"], ["sample"], {"hidden_states": seq, "temb": batch, "sample": video}
    raise KeyError(kind)


def rotary_tables(cfg, height, width, frames):
    """The rotary inputs of every block for F latent frames of a (height, width) latent grid."""
    p = cfg.patch_size
    return rotary_3d(
        cfg.attention_head_dim, height // p, width // p, frames, cfg.sample_height // p, cfg.sample_width // p, ROTARY_THETA
    )


def example_inputs(cfg, kind, height, width, batch=1, frames=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    L, d = cfg.max_text_seq_length, cfg.inner_dim
    if kind == "embed":
        return (
            torch.randn(batch, frames, cfg.in_channels, height, width, generator=g),
            torch.randn(batch, L, cfg.text_embed_dim, generator=g),
            torch.rand(batch, generator=g) * 999.0,
        )
    s = L + frames * (height // cfg.patch_size) * (width // cfg.patch_size)
    args = (torch.randn(batch, s, d, generator=g), torch.randn(batch, cfg.time_embed_dim, generator=g))
    if kind == "block" and cfg.use_rotary_positional_embeddings:
        args += rotary_tables(cfg, height, width, frames)
    return args


def manifest_fields(cfg, num_blocks=None):
    """The manifest's ``transformer`` section for these graphs."""
    p = cfg.patch_size
    fields = {
        "embed": EMBED,
        "blocks": [block_file(i) for i in range(cfg.num_layers if num_blocks is None else num_blocks)],
        "head": HEAD,
        "hidden_size": cfg.inner_dim,
        "patch_size": p,
        "num_heads": cfg.num_attention_heads,
        "time_embed_dim": cfg.time_embed_dim,
    }
    if cfg.use_rotary_positional_embeddings:
        fields["rotary"] = {
            "type": "3d",
            "head_dim": cfg.attention_head_dim,
            "theta": ROTARY_THETA,
            "base_height": cfg.sample_height // p,
            "base_width": cfg.sample_width // p,
        }
    return fields


def manifest_requirements(cfg, height, width, max_frames):
    """What the rest of the manifest must agree with for these graphs to run."""
    return {
        "tokenizer.max_tokens": cfg.max_text_seq_length,
        "text_encoder.hidden_size": cfg.text_embed_dim,
        "latent.channels": cfg.in_channels,
        "latent.temporal_compression": cfg.temporal_compression_ratio,
        "latent_height": height,
        "latent_width": width,
        # the 2B's position table covers this many latent frames; rotary models any number
        "max_latent_frames": None if cfg.use_rotary_positional_embeddings else max_frames,
    }


# ---------------------------------------------------------------- export


def export_stage(stage, kind, rel_path, cfg, out_dir, height, width, dtype="fp32", external_data_threshold=EXTERNAL_DATA_THRESHOLD):
    """Export one stage module to ``out_dir/rel_path``; returns the absolute path."""
    if dtype not in DTYPES:
        raise ValueError("dtype must be one of %s (got %r)" % (", ".join(DTYPES), dtype))
    path = os.path.join(out_dir, rel_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    inputs, outputs, axes = interface(kind, cfg.use_rotary_positional_embeddings)
    if dtype != "fp32":
        stage = copy.deepcopy(stage).double()  # a copy of this stage's weights only
    stage.eval()
    with tempfile.TemporaryDirectory() as tmp:  # torch writes a model over 2 GB as one file per tensor
        traced = os.path.join(tmp, "stage.onnx")
        with torch.no_grad():
            torch.onnx.export(
                stage,
                example_inputs(cfg, kind, height, width),
                traced,
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=OPSET,
                custom_opsets=fused_attention.OPSETS if kind == "block" else None,
                do_constant_folding=True,
            )
        model = onnx.load(traced)
    if dtype != "fp32":
        retype_float64(model, DTYPES[dtype])
    model.producer_name = "spool-models"
    save_graph(model, path, external_data_threshold)
    return path


def export_transformer(model, out_dir, height=None, width=None, max_frames=None, dtype="fp32",
                       external_data_threshold=EXTERNAL_DATA_THRESHOLD, blocks=None, load=None):
    """Write embed, every block (or the indices in ``blocks``) and head; returns the manifest's ``transformer`` section.

    ``height`` / ``width``: the latent grid the package serves (the config's sample
    size when omitted). ``max_frames``: latent frames the 2B's position table covers
    (the config's, 13, when omitted; requests with more frames fail in the graph).
    ``load``: for a model built with ``device="meta"``, a function from a state_dict
    name to its tensor; each stage's weights are then read just before its export and
    released after it, so a full-size model never sits in memory whole.
    """
    cfg = model.config
    height = height or cfg.sample_height
    width = width or cfg.sample_width
    if height % cfg.patch_size or width % cfg.patch_size:
        raise ValueError("the latent size %dx%d must be a multiple of the patch size %d" % (height, width, cfg.patch_size))
    opts = dict(cfg=cfg, out_dir=out_dir, height=height, width=width, dtype=dtype, external_data_threshold=external_data_threshold)
    with weights(model, stage_prefixes("embed"), load):
        export_stage(EmbedStage(model, height, width, max_frames), "embed", EMBED, **opts)
    for i in range(cfg.num_layers) if blocks is None else blocks:
        with weights(model, stage_prefixes("block", i), load):
            export_stage(BlockStage(model, i), "block", block_file(i), **opts)
    with weights(model, stage_prefixes("head"), load):
        export_stage(HeadStage(model, height, width), "head", HEAD, **opts)
    return manifest_fields(cfg)


# ---------------------------------------------------------------- command line (random weights)


def random_transformer(cfg, seed=0):
    """A transformer with seeded random weights; norm scales and shifts are perturbed so they matter."""
    torch.manual_seed(seed)
    model = CogVideoXTransformer(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm" in name or name.startswith("norm"):
                p.add_(torch.randn_like(p) * 0.1)
    return model


def main(argv=None):
    # imported here: transformer_parity builds on this module
    from models.cogvideox.transformer_parity import reference, transformer_parity, write_full_size_rotary

    ap = argparse.ArgumentParser(
        prog="python3 -m models.cogvideox.transformer_export",
        description="Export a randomly initialised CogVideoX transformer (published structure) as stage graphs.",
    )
    ap.add_argument("--config", required=True, help="name in models/cogvideox/configs/ or a transformer/config.json path")
    ap.add_argument("--out", required=True, help="package directory (graphs go to OUT/transformer/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    ap.add_argument("--height", type=int, help="latent height (default: the config's sample_height)")
    ap.add_argument("--width", type=int, help="latent width (default: the config's sample_width)")
    ap.add_argument("--max-frames", type=int, help="latent frames the 2B's position table covers (default: the config's)")
    ap.add_argument("--frames", type=int, default=2, help="latent frames of the parity fixture and the reference")
    ap.add_argument("--external-data-threshold", type=int, default=EXTERNAL_DATA_THRESHOLD,
                    help="weights above this many bytes go to <file>.data (default 2 GB)")
    ap.add_argument("--reference", help="also write PyTorch references (whole forward, embed, rotary tables) to this JSON file "
                    "(and, for a rotary model, the published 5B's full-size tables to rotary-5b.f32 beside it)")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg = load_transformer_config(args.config)
    model = random_transformer(cfg, args.seed)
    height, width = args.height or cfg.sample_height, args.width or cfg.sample_width
    fields = export_transformer(model, args.out, height, width, args.max_frames, args.dtype, args.external_data_threshold)
    max_frames = args.max_frames or cfg.latent_frames
    summary = {"transformer": fields, "requires": manifest_requirements(cfg, height, width, max_frames), "dtype": args.dtype}
    with open(os.path.join(args.out, "transformer.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    fixture = transformer_parity(model, height, width, frames=args.frames, seed=args.seed)
    # the references are float32 PyTorch: a reduced-precision graph is only that close to them
    tol = 1e-4 if args.dtype == "fp32" else 1e-2
    fixture = {"format": "spool-parity-1", "tolerance": {"max_abs_diff": tol, "sum_rel": tol}, "prompts": [], **fixture}
    with open(os.path.join(args.out, "parity.json"), "w", encoding="utf-8") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    if args.reference:
        ref = reference(model, height, width, args.frames, args.seed)
        if model.uses_rotary:
            ref["rotary_full_size"] = write_full_size_rotary(os.path.join(os.path.dirname(os.path.abspath(args.reference)), "rotary-5b.f32"))
        with open(args.reference, "w", encoding="utf-8") as f:
            json.dump(ref, f, separators=(",", ":"))
            f.write("\n")
    print("wrote %s (%d blocks, %s)" % (os.path.join(args.out, "transformer"), cfg.num_layers, args.dtype))


if __name__ == "__main__":
    main()
