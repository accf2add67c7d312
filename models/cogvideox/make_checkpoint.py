"""Random-weight CogVideoX checkpoints with the published module structure, key names and folder layout, at tiny widths.

    /usr/bin/python3 -m models.cogvideox.make_checkpoint --kind 2b|5b --out DIR [--seed N]

The folder is what a published CogVideoX checkpoint looks like in the diffusers
layout (``model_index.json``, ``tokenizer/`` with a SentencePiece ``spiece.model``,
``text_encoder/``, ``transformer/``, ``vae/``, ``scheduler/``, each with its config
and ``.safetensors`` weights), built from the tiny architecture-exact configs in
``models/cogvideox/configs/``. The 2B kind has 3D sin-cos positions and the DDIM
schedule; the 5B kind 3D RoPE and its schedule. The 5B kind stores its
transformer and text encoder as shards with an index, the 2B kind as single
files, so the converter reads both ways. Weights are random and seeded: the
videos are noise, every stage is real.
"""
import argparse
import json
import os
import shutil

import torch

from models.cogvideox.t5 import T5Encoder, checkpoint_keys, init_t5_weights, load_t5_config
from models.cogvideox.tiny_spiece import write_tiny_spiece
from models.cogvideox.tokenizer import t5_tokenizer_config
from models.cogvideox.transformer_config import load_transformer_config
from models.cogvideox.transformer_export import random_transformer
from models.cogvideox.vae import load_vae_config
from models.cogvideox.vae_export import random_vae
from models.convert.safetensors import write_safetensors, write_sharded

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
KINDS = {
    "2b": {"transformer": "transformer-2b-tiny.json", "scheduler": "scheduler-2b.json", "sharded": False},
    "5b": {"transformer": "transformer-5b-tiny.json", "scheduler": "scheduler-5b.json", "sharded": True},
}
# Small enough that the tiny 5B kind's transformer and text encoder each span several files.
SHARD_BYTES = 32 * 1024


def _copy_config(name, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copyfile(os.path.join(CONFIGS, name), path)


def _dump(data, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def _weights(folder, stem, tensors, sharded):
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    if sharded:
        write_sharded(folder, stem, tensors, SHARD_BYTES)
    else:
        write_safetensors(os.path.join(folder, stem + ".safetensors"), tensors, {"format": "pt"})


def make_checkpoint(kind, out, seed=0):
    """Writes the checkpoint folder ``out`` (which must not exist or be empty); returns its path."""
    if kind not in KINDS:
        raise ValueError("kind must be one of %s, not %r" % (", ".join(KINDS), kind))
    if os.path.isdir(out) and os.listdir(out):
        raise ValueError("%s is not empty" % out)
    spec = KINDS[kind]
    sharded = spec["sharded"]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(CONFIGS, spec["scheduler"]), encoding="utf-8") as f:
        scheduler_class = json.load(f)["_class_name"]
    _dump(
        {
            "_class_name": "CogVideoXPipeline",
            "_diffusers_version": "0.30.0",
            "scheduler": ["diffusers", scheduler_class],
            "text_encoder": ["transformers", "T5EncoderModel"],
            "tokenizer": ["transformers", "T5Tokenizer"],
            "transformer": ["diffusers", "CogVideoXTransformer3DModel"],
            "vae": ["diffusers", "AutoencoderKLCogVideoX"],
        },
        os.path.join(out, "model_index.json"),
    )
    # tokenizer: T5's SentencePiece model and its config
    tok = os.path.join(out, "tokenizer")
    os.makedirs(tok)
    write_tiny_spiece(os.path.join(tok, "spiece.model"), seed=seed)
    _dump(dict(t5_tokenizer_config(), tokenizer_class="T5Tokenizer"), os.path.join(tok, "tokenizer_config.json"))
    # text encoder (the published file keeps the tied embedding once, as shared.weight)
    folder = os.path.join(out, "text_encoder")
    _copy_config("text_encoder-tiny.json", os.path.join(folder, "config.json"))
    t5 = init_t5_weights(T5Encoder(load_t5_config(os.path.join(folder, "config.json"))), seed)
    state = t5.state_dict()
    _weights(folder, "model", {k: state[k] for k in checkpoint_keys(t5)}, sharded)
    # transformer
    folder = os.path.join(out, "transformer")
    _copy_config(spec["transformer"], os.path.join(folder, "config.json"))
    transformer = random_transformer(load_transformer_config(os.path.join(folder, "config.json")), seed)
    _weights(folder, "diffusion_pytorch_model", transformer.state_dict(), sharded)
    # VAE
    folder = os.path.join(out, "vae")
    _copy_config("vae-tiny.json", os.path.join(folder, "config.json"))
    vae = random_vae(load_vae_config(os.path.join(folder, "config.json")), seed)
    _weights(folder, "diffusion_pytorch_model", vae.state_dict(), False)
    # scheduler
    _copy_config(spec["scheduler"], os.path.join(out, "scheduler", "scheduler_config.json"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m models.cogvideox.make_checkpoint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", required=True, choices=sorted(KINDS), help="2b: sin-cos positions and DDIM; 5b: 3D RoPE, sharded weights")
    parser.add_argument("--out", required=True, help="the checkpoint folder to write (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    print(make_checkpoint(args.kind, args.out, args.seed))


if __name__ == "__main__":
    main()
