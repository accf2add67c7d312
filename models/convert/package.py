"""Converting a published CogVideoX checkpoint into a spool model package.

Reads the checkpoint folder (``models.convert.checkpoint``), exports each part
asked for with the real-architecture modules of ``models.cogvideox`` (the text
encoder and its tokenizer, the transformer's embed / block / head graphs, the
VAE's chunked decoder), maps the scheduler, and writes ``manifest.json`` (with
``components`` saying which parts the package holds, and every file's sha256)
and ``parity.json`` (PyTorch's outputs for small inputs, which ``npm test``'s
parity check and ``models.package.check`` hold the ONNX files to).
"""
import json
import os
import shutil

import torch

from models.cogvideox.schedulers import guidance_defaults, scheduler_from_config
from models.cogvideox.t5 import T5Encoder, checkpoint_keys, load_t5_config, load_t5_state
from models.cogvideox.t5_onnx import export_text_encoder, text_encoder_parity
from models.cogvideox.tokenizer import MAX_TOKENS, ReferenceT5Tokenizer, convert_tokenizer_dir
from models.cogvideox.transformer import CogVideoXTransformer
from models.cogvideox.transformer_config import load_transformer_config
from models.cogvideox.transformer_export import export_transformer, manifest_fields
from models.cogvideox.transformer_parity import transformer_parity
from models.cogvideox.vae import AutoencoderKLCogVideoX, load_vae_config, parameter_count, spatial_compression
from models.cogvideox.vae_export import DECODER_FILE, FRAME_BATCH, NEXT_FILE, export_vae_decoder, latent_geometry, vae_parity_files
from models.convert.checkpoint import PARTS, inspect_checkpoint
from models.convert.reader import LazyWeights
from models.convert.weights import CheckpointError, load_weights
from models.lib.manifest import package_files, sha256_file, write_manifest

DTYPES = ("fp32", "fp16", "bf16")
# What each exporter calls them; ONNX's Conv has no bfloat16 and T5 in bfloat16 gains nothing over float16.
_T5_DTYPE = {"fp32": "float32", "fp16": "float16", "bf16": "float16"}
_VAE_DTYPE = {"fp32": "float32", "fp16": "float16", "bf16": "float16"}
# Parity runs the PyTorch model on the CPU: skipped for parts too large to run there in float32.
PARITY_MAX_PARAMS = 600_000_000
PARITY_PROMPTS = ["A serene sunset over the ocean with birds flying in the sky.", "snow falling at night"]
# CogVideoX 1.0 makes 8 frames per second; its pipeline's defaults.
FPS = 8
DEFAULTS = {"num_inference_steps": 50, "guidance_scale": 6.0, "guidance_rescale": 0.0, "fps": FPS, "num_frames": 49}


class ConversionError(ValueError):
    """Something the user asked for cannot be done; the message says what to change."""


def _read_config(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError("%s is missing: the manifest needs the %s" % (path, what)) from None


def _say(log, msg):
    if log:
        log(msg)


def convert(src, out, components=tuple(PARTS), dtype="fp32", name=None, sampler=None, parity="auto", force=False, log=print):
    """Converts the checkpoint at ``src`` into the package folder ``out``; returns the manifest written."""
    components = tuple(dict.fromkeys(components))
    if dtype not in DTYPES:
        raise ConversionError("--dtype must be one of %s, not %r" % (", ".join(DTYPES), dtype))
    if parity not in ("auto", "all", "none"):
        raise ConversionError("--parity must be auto, all or none, not %r" % parity)
    ckpt = inspect_checkpoint(src, parts=components)
    name = name or os.path.basename(os.path.abspath(out))
    if not name or not all(c.isdigit() or ("a" <= c <= "z") or c == "-" for c in name) or name.startswith("-"):
        raise ConversionError("the package name %r must be lower-case letters, digits and dashes (set it with --name)" % name)
    if os.path.isdir(out) and os.listdir(out):
        if not force:
            raise ConversionError("%s is not empty: choose another --out, or pass --force to replace it" % out)
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    # Every part's config is read, converted or not: the manifest states the whole model's geometry.
    tcfg = load_transformer_config(os.path.join(ckpt.root, "transformer", "config.json"))
    vcfg = load_vae_config(os.path.join(ckpt.root, "vae", "config.json"))
    t5cfg = load_t5_config(os.path.join(ckpt.root, "text_encoder", "config.json"))
    scheduler_cfg = _read_config(os.path.join(ckpt.root, "scheduler", "scheduler_config.json"), "scheduler settings")
    if t5cfg.d_model != tcfg.text_embed_dim:
        raise CheckpointError("the text encoder's d_model %d is not the transformer's text_embed_dim %d" % (t5cfg.d_model, tcfg.text_embed_dim))
    if vcfg["latent_channels"] != tcfg.in_channels:
        raise CheckpointError("the VAE's latent_channels %d are not the transformer's in_channels %d" % (vcfg["latent_channels"], tcfg.in_channels))
    s = spatial_compression(vcfg)
    height, width = tcfg.sample_height * s, tcfg.sample_width * s
    sampler = sampler or ("cogvideox-dpm" if tcfg.use_rotary_positional_embeddings else None)
    scheduler = scheduler_from_config(scheduler_cfg, sampler=sampler)

    fixtures = {}
    tokenizer = {"file": "tokenizer.json", "config": "tokenizer_config.json", "max_tokens": MAX_TOKENS, "pad_id": 0, "eos_id": 1, "unk_id": 2}
    if "text_encoder" in components:
        _say(log, "tokenizer: converting tokenizer/spiece.model")
        tokenizer = convert_tokenizer_dir(ckpt.folder("tokenizer"), out, max_tokens=tcfg.max_text_seq_length)
        _say(log, "text encoder: T5 encoder, %d layers of width %d, %s" % (t5cfg.num_layers, t5cfg.d_model, _T5_DTYPE[dtype]))
        with LazyWeights(ckpt.folder("text_encoder"), "text encoder") as weights:
            meta = T5Encoder(t5cfg, device="meta")
            weights.require_exactly(checkpoint_keys(meta), {k: meta.state_dict()[k].shape for k in checkpoint_keys(meta)})
            export_text_encoder(weights, t5cfg, os.path.join(out, "text_encoder.onnx"), dtype=_T5_DTYPE[dtype])
            params = sum(_numel(weights.shape(k)) for k in weights.keys())
            if parity == "all" or (parity == "auto" and params <= PARITY_MAX_PARAMS):
                t5 = load_t5_state(T5Encoder(t5cfg), {k: weights[k].float() for k in weights.keys()})
                ids = ReferenceT5Tokenizer(os.path.join(ckpt.folder("tokenizer"), "spiece.model"))
                input_ids = torch.tensor([ids.input_ids(p, tokenizer["max_tokens"]) for p in PARITY_PROMPTS], dtype=torch.int64)
                fixtures["text_encoder.onnx"] = text_encoder_parity(t5, input_ids)

    transformer = manifest_fields(tcfg)
    if "transformer" in components:
        _say(log, "transformer: %d blocks of width %d%s, %s" % (tcfg.num_layers, tcfg.inner_dim, ", 3D RoPE" if tcfg.use_rotary_positional_embeddings else "", dtype))
        model = CogVideoXTransformer(tcfg, device="meta")
        with LazyWeights(ckpt.folder("transformer"), "transformer") as weights:
            weights.require_exactly(model.state_dict().keys(), {k: v.shape for k, v in model.state_dict().items()})
            transformer = export_transformer(model, out, dtype=dtype, load=weights)
            params = sum(_numel(weights.shape(k)) for k in weights.keys())
            if parity != "none":
                small = params <= PARITY_MAX_PARAMS and parity == "auto" or parity == "all"
                fixtures.update(
                    transformer_parity(model, batch=2 if small else 1, frames=2 if small else 1, blocks=None if small else [0], load=weights)["files"]
                )

    vae = {"decoder": DECODER_FILE, "scaling_factor": vcfg["scaling_factor"], "chunked": {"next": NEXT_FILE, "frame_batch": FRAME_BATCH}}
    if "vae" in components:
        _say(log, "VAE: causal 3D decoder, %dx%d frames, %s" % (width, height, _VAE_DTYPE[dtype]))
        model = AutoencoderKLCogVideoX(vcfg)
        load_weights(model, ckpt.folder("vae"), "VAE")
        vae = export_vae_decoder(model.eval(), out, height=height, width=width, dtype=_VAE_DTYPE[dtype])["vae"]
        # The parity inputs hold the conv caches whole: a few MB when small, gigabytes at 720x480.
        if parity == "all" or (parity == "auto" and parameter_count(model) <= PARITY_MAX_PARAMS and height * width <= 256 * 256):
            fixtures.update(vae_parity_files(model, height=height, width=width))
        del model

    manifest = {
        "name": name,
        "family": "cogvideox",
        "description": "%s converted from %s (%s; parts: %s)" % (_variant(tcfg), os.path.basename(ckpt.root), dtype, ", ".join(components)),
        "tokenizer": tokenizer,
        "text_encoder": {"file": "text_encoder.onnx", "hidden_size": t5cfg.d_model},
        "transformer": transformer,
        "vae": vae,
        "latent": latent_geometry(vcfg),
        "video": {"width": width, "height": height, "fps": FPS, "output_width": width, "output_height": height},
        "scheduler": scheduler,
        "defaults": dict(DEFAULTS, **guidance_defaults(scheduler)),
        "limits": {
            "min_frames": 8,
            "max_frames": tcfg.sample_frames,
            "min_fps": 1,
            "max_fps": 60,
            "max_inference_steps": 100,
            "max_guidance_scale": 20.0,
            "max_prompt_chars": 2000,
        },
        "components": list(components),
    }
    if fixtures:
        with open(os.path.join(out, "parity.json"), "w", encoding="utf-8") as f:
            json.dump(
                {
                    "format": "spool-parity-1",
                    "note": "PyTorch outputs of the converted checkpoint for small inputs; every ONNX file listed must match them",
                    "tolerance": {"max_abs_diff": 1e-4, "sum_rel": 1e-4},
                    "prompts": PARITY_PROMPTS,
                    "files": fixtures,
                },
                f,
            )
            f.write("\n")
    manifest["files"] = {rel: sha256_file(os.path.join(out, rel)) for rel in package_files(out)}
    write_manifest(out, manifest)
    _say(log, "wrote %s: %d files, parts %s" % (out, len(manifest["files"]), ", ".join(components)))
    return manifest


def _numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _variant(tcfg):
    return "CogVideoX (3D RoPE, %d blocks)" % tcfg.num_layers if tcfg.use_rotary_positional_embeddings else "CogVideoX (3D sin-cos, %d blocks)" % tcfg.num_layers
