"""The CogVideoX VAE decoder as spool's chunked stage graphs, and their parity fixture.

Two ONNX graphs (opset 17, float32 in and out, dynamic batch and frame counts, the frame size
fixed at export):

* ``vae_decoder.onnx``, a video's first chunk: ``latents`` float32 [B, n, C, h, w] (spool's
  layout, already divided by ``scaling_factor``; permuted inside) -> ``frames`` float32
  [B, T, 3, H, W] and one ``conv_cache_out.<conv>`` per causal conv;
* ``vae_decoder_next.onnx``, every later chunk: ``latents`` and ``conv_cache.<conv>`` (the
  previous chunk's ``conv_cache_out.<conv>``) -> ``frames`` and ``conv_cache_out.<conv>``.

``<conv>`` is the conv's module path in the decoder (``conv_in``,
``mid_block.resnets.0.conv1``, ``up_blocks.3.resnets.2.conv2``, ``conv_out``, …: 38 in the
published VAE); a cache is [B, C_in, 2, h_l, w_l], the conv's last two input frames at its
resolution. Chunks are ``chunk_bounds(F, frame_batch)``: the first takes the odd frame. A chunk
of n latent frames gives 4(n-1)+1 frames when n is odd and 4n when even (13 latent frames in
chunks 3, 2, 2, 2, 2, 2 give 9 + 5·8 = 49 frames).

Command line (writes both graphs, ``vae.json`` with the manifest fields, with ``--parity``
a ``parity.json`` for both graphs and, with ``--reference``, PyTorch decodes of seeded latents
for tests)::

    /usr/bin/python3 -m models.cogvideox.vae_export --config tiny --out DIR --reference 3,4,13
"""

import argparse
import json
import os
import tempfile

import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn

from models.cogvideox.onnx_dtype import cast_graph
from models.cogvideox.vae import FRAME_BATCH, AutoencoderKLCogVideoX, chunk_bounds, load_vae_config, spatial_compression

OPSET = 17
DECODER_FILE = "vae_decoder.onnx"
NEXT_FILE = "vae_decoder_next.onnx"
CACHE_IN = "conv_cache."
CACHE_OUT = "conv_cache_out."
# Compute types of the graphs (ONNX's Conv and InstanceNormalization have no bfloat16 type).
VAE_DTYPES = ("float32", "float16")
# Above this many bytes of weights a graph keeps them in ONNX external data (protobuf stops at 2 GiB).
EXTERNAL_DATA_BYTES = 2_000_000_000


class FirstChunk(nn.Module):
    """latents [B, n, C, h, w] -> (frames [B, T, 3, H, W], *caches in ``decoder.cache_keys`` order)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, latents):
        frames, cache = self.decoder(latents.permute(0, 2, 1, 3, 4))
        return (frames.permute(0, 2, 1, 3, 4),) + tuple(cache[k] for k in self.decoder.cache_keys)


class NextChunk(nn.Module):
    """(latents, *caches) -> (frames, *new caches), caches in ``decoder.cache_keys`` order."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, latents, *caches):
        cache = dict(zip(self.decoder.cache_keys, caches))
        frames, new_cache = self.decoder(latents.permute(0, 2, 1, 3, 4), cache)
        return (frames.permute(0, 2, 1, 3, 4),) + tuple(new_cache[k] for k in self.decoder.cache_keys)


def graph_names(decoder):
    """(first inputs, next inputs, outputs): the ONNX names of both graphs."""
    outputs = ["frames"] + [CACHE_OUT + k for k in decoder.cache_keys]
    return ["latents"], ["latents"] + [CACHE_IN + k for k in decoder.cache_keys], outputs


def decode_chunked(vae, latents, frame_batch=FRAME_BATCH):
    """What the stage graphs compute, in PyTorch: latents [B, F, C, h, w] (divided by ``scaling_factor``)
    -> frames [B, T, 3, H, W], chunk by chunk through ``FirstChunk`` and ``NextChunk``."""
    first, nxt = FirstChunk(vae.decoder), NextChunk(vae.decoder)
    frames, caches = [], None
    for start, end in chunk_bounds(latents.shape[1], frame_batch):
        out = first(latents[:, start:end]) if caches is None else nxt(latents[:, start:end], *caches)
        frames.append(out[0])
        caches = out[1:]
    return torch.cat(frames, dim=1)


def latent_geometry(cfg):
    """The manifest's ``latent`` section for this VAE."""
    return {
        "channels": cfg["latent_channels"],
        "temporal_compression": cfg["temporal_compression_ratio"],
        "spatial_compression": spatial_compression(cfg),
    }


def example_latents(cfg, frames, height, width, batch=2, seed=0):
    s = spatial_compression(cfg)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, frames, cfg["latent_channels"], height // s, width // s, generator=g)


def _finish(tmp_path, path, dtype, external_data):
    """Load the traced graph, cast it, check it and write it to ``path`` (weights outside when large)."""
    model = onnx.load(tmp_path)
    model.producer_name = "spool-models"
    model = cast_graph(model, dtype)
    weight_bytes = sum(len(t.raw_data) or numpy_helper.to_array(t).nbytes for t in model.graph.initializer)
    external = weight_bytes > EXTERNAL_DATA_BYTES if external_data is None else external_data
    data_file = os.path.basename(path) + ".data"
    if os.path.exists(os.path.join(os.path.dirname(path), data_file)):
        os.remove(os.path.join(os.path.dirname(path), data_file))
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data_file, size_threshold=1024)
    else:
        onnx.save_model(model, path)
    onnx.checker.check_model(path, full_check=True)
    return [os.path.basename(path)] + ([data_file] if external else [])


def export_vae_decoder(
    vae,
    out_dir,
    *,
    height=None,
    width=None,
    frame_batch=FRAME_BATCH,
    dtype="float32",
    decoder_file=DECODER_FILE,
    next_file=NEXT_FILE,
    external_data=None,
):
    """Export the first-chunk and next-chunk graphs of ``vae`` (an ``AutoencoderKLCogVideoX``) for frames
    ``height`` x ``width`` (the config's ``sample_height`` / ``sample_width`` by default) into ``out_dir``.

    ``dtype`` 'float16' computes in half precision inside (inputs and outputs stay float32);
    ``external_data`` None keeps weights in the .onnx file unless they pass 2 GB, True / False forces it
    (a ``<file>.data`` beside the graph, which onnxruntime loads by relative path).

    Returns ``{"vae": {"decoder", "scaling_factor", "chunked": {"next", "frame_batch"}}, "latent": {…},
    "files": [written files, relative to out_dir]}``.
    """
    if dtype not in VAE_DTYPES:
        raise ValueError("the VAE decoder computes in %s, not %r (ONNX's Conv has no bfloat16 type)" % (" or ".join(VAE_DTYPES), dtype))
    cfg = vae.config
    height = height or cfg["sample_height"]
    width = width or cfg["sample_width"]
    s = spatial_compression(cfg)
    if height % s or width % s:
        raise ValueError("frame size %dx%d must be a multiple of the spatial compression %d" % (width, height, s))
    first_in, next_in, outputs = graph_names(vae.decoder)
    video = {0: "batch", 1: "frames"}
    axes = {"latents": {0: "batch", 1: "latent_frames"}, "frames": video}
    axes.update({n: {0: "batch"} for n in outputs[1:]})
    vae.eval()
    files = []
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        z0 = example_latents(cfg, frame_batch + 1, height, width, seed=1)
        z1 = example_latents(cfg, frame_batch, height, width, seed=2)
        caches = FirstChunk(vae.decoder)(z0)[1:]
        for module, inputs, in_names, rel in (
            (FirstChunk(vae.decoder), (z0,), first_in, decoder_file),
            (NextChunk(vae.decoder), (z1,) + tuple(caches), next_in, next_file),
        ):
            traced = os.path.join(tmp, "traced.onnx")
            graph_axes = dict(axes, **{n: {0: "batch"} for n in in_names[1:]})
            torch.onnx.export(
                module, inputs, traced, input_names=in_names, output_names=outputs, dynamic_axes=graph_axes, opset_version=OPSET, do_constant_folding=True
            )
            path = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            files += [os.path.join(os.path.dirname(rel), f) for f in _finish(traced, path, dtype, external_data)]
            for f in os.listdir(tmp):  # the tracer's own external files, when it wrote any
                os.remove(os.path.join(tmp, f))
    return {
        "vae": {"decoder": decoder_file, "scaling_factor": vae.scaling_factor, "chunked": {"next": next_file, "frame_batch": frame_batch}},
        "latent": latent_geometry(cfg),
        "files": files,
    }


def vae_parity_files(vae, *, height=None, width=None, batch=1, frame_batch=FRAME_BATCH, seed=0, decoder_file=DECODER_FILE, next_file=NEXT_FILE):
    """parity.json entries (``{"<file>": {"inputs", "outputs"}}``) for both graphs: a first chunk of
    ``frame_batch + 1`` latent frames, then a next chunk with its caches. Inputs are stored in full (the
    caches too: a few MB for a tiny VAE, gigabytes at 480x720, so a full-size package leaves them out)."""
    from models.lib.parity import _round_input, _tensor  # the package fixture's own formatting

    cfg = vae.config
    height = height or cfg["sample_height"]
    width = width or cfg["sample_width"]
    first_in, next_in, outputs = graph_names(vae.decoder)
    z0 = _round_input(example_latents(cfg, frame_batch + 1, height, width, batch, seed + 1000))
    z1 = _round_input(example_latents(cfg, frame_batch, height, width, batch, seed + 1001))
    vae.eval()
    with torch.no_grad():
        out0 = FirstChunk(vae.decoder)(z0)
        caches = tuple(_round_input(c) for c in out0[1:])
        out1 = NextChunk(vae.decoder)(z1, *caches)

    def entry(names, inputs, outs):
        return {
            "inputs": {n: _tensor(t, True, 2048) for n, t in zip(names, inputs)},
            "outputs": {n: _tensor(t, False, 2048) for n, t in zip(outputs, outs)},
        }

    return {decoder_file: entry(first_in, (z0,), out0), next_file: entry(next_in, (z1,) + caches, out1)}


def random_vae(cfg, seed=0):
    """A VAE of ``cfg`` with seeded random weights, group-norm scales and shifts included (not 1 and 0),
    so every parameter changes the frames; float32, eval mode."""
    torch.manual_seed(seed)
    vae = AutoencoderKLCogVideoX(cfg)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in vae.modules():
            if isinstance(m, nn.GroupNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return vae.eval()


def write_reference(vae, out_dir, latent_frames, *, height, width, batch=2, frame_batch=FRAME_BATCH, seed=0):
    """Seeded raw latents and PyTorch's decode of them (``AutoencoderKLCogVideoX.decode`` of latents /
    scaling_factor, diffusers' ``_decode``), as little-endian float32 files and ``reference.json``."""
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for f in latent_frames:
        raw = example_latents(vae.config, f, height, width, batch, seed + f)
        with torch.no_grad():
            frames = vae.decode(raw.permute(0, 2, 1, 3, 4) / vae.scaling_factor, frame_batch).permute(0, 2, 1, 3, 4).contiguous()
        for name, t in (("latents", raw), ("frames", frames)):
            t.numpy().astype("<f4").tofile(os.path.join(out_dir, "%s_%d.bin" % (name, f)))
        cases.append({"latent_frames": f, "latents": "latents_%d.bin" % f, "latents_shape": list(raw.shape), "frames": "frames_%d.bin" % f, "frames_shape": list(frames.shape)})
    with open(os.path.join(out_dir, "reference.json"), "w", encoding="utf-8") as fh:
        json.dump({"scaling_factor": vae.scaling_factor, "frame_batch": frame_batch, "cases": cases}, fh, indent=1)
        fh.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export the CogVideoX VAE decoder as spool's chunked stage graphs.")
    ap.add_argument("--config", default="tiny", help="2b, 5b, tiny or the path of a vae/config.json")
    ap.add_argument("--checkpoint", help="a torch state_dict of the whole VAE (.pt); seeded random weights without it")
    ap.add_argument("--out", required=True, help="directory for the graphs, vae.json and the reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--height", type=int, help="frame height (the config's sample_height by default)")
    ap.add_argument("--width", type=int, help="frame width (the config's sample_width by default)")
    ap.add_argument("--frame-batch", type=int, default=FRAME_BATCH, help="latent frames per chunk (2 as published)")
    ap.add_argument("--dtype", default="float32", choices=VAE_DTYPES, help="compute type inside the graphs")
    ap.add_argument("--external-data", action="store_true", help="keep weights in <file>.data even below 2 GB")
    ap.add_argument("--reference", help="latent frame counts, e.g. 3,4,13: also write PyTorch decodes to OUT/reference")
    ap.add_argument("--reference-batch", type=int, default=2)
    ap.add_argument("--parity", action="store_true", help="also write OUT/parity.json for both graphs (spool-parity-1)")
    args = ap.parse_args(argv)

    cfg = load_vae_config(args.config)
    if args.checkpoint:
        vae = AutoencoderKLCogVideoX(cfg)
        state = torch.load(args.checkpoint, map_location="cpu")
        vae.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        vae.eval()
    else:
        vae = random_vae(cfg, args.seed)
    height, width = args.height or cfg["sample_height"], args.width or cfg["sample_width"]
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    result = export_vae_decoder(
        vae, args.out, height=height, width=width, frame_batch=args.frame_batch, dtype=args.dtype, external_data=args.external_data or None
    )
    result["video"] = {"height": height, "width": width}
    with open(os.path.join(args.out, "vae.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    if args.reference:
        frames = [int(x) for x in args.reference.split(",")]
        write_reference(vae, os.path.join(args.out, "reference"), frames, height=height, width=width, batch=args.reference_batch, frame_batch=args.frame_batch, seed=args.seed)
    if args.parity:
        files = vae_parity_files(vae, height=height, width=width, frame_batch=args.frame_batch, seed=args.seed)
        fixture = {"format": "spool-parity-1", "tolerance": {"max_abs_diff": 1e-4, "sum_rel": 1e-4}, "files": files}
        with open(os.path.join(args.out, "parity.json"), "w", encoding="utf-8") as f:
            json.dump(fixture, f, separators=(",", ":"))
            f.write("\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
