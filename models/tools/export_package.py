"""Build a complete model package directory (tokenizer, ONNX files, parity fixture, manifest).

Usage (from the repository root; Debian's Python with torch and onnx):

    /usr/bin/python3 models/tools/export_package.py --name cogvideox-tiny --out models/cogvideox-tiny --seed 0

Options:
    --name NAME         config ``models/tools/configs/NAME.json`` (package name)
    --config PATH       explicit config JSON instead of --name
    --out DIR           package directory to (re)write
    --seed N            seed for random initialisation and parity inputs (default 0)
    --checkpoint PATH   torch state_dict of ``architecture.PackageModel`` (random init when absent),
                        or {"state_dict": ..., "vae_scaling_factor": s} (s overrides the config's
                        vae.scaling_factor, as written by dit_train.py)
    --no-parity         skip writing parity.json

The output is reproducible for a given seed, config and torch version.
"""

import argparse
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from architecture import PackageModel  # noqa: E402
from config import load_config  # noqa: E402
from manifest import build_manifest, verify_package, write_manifest  # noqa: E402
from onnx_export import export_part  # noqa: E402
from parity import build_parity, write_parity  # noqa: E402
from tokenizer_build import write_tokenizer  # noqa: E402

GENERATED = ["manifest.json", "tokenizer.json", "tokenizer_config.json", "text_encoder.onnx", "vae_decoder.onnx", "parity.json"]


def clean_package_dir(out_dir):
    for rel in GENERATED:
        p = os.path.join(out_dir, rel)
        if os.path.isfile(p):
            os.remove(p)
    for p in glob.glob(os.path.join(out_dir, "transformer", "*.onnx")):
        os.remove(p)


def load_checkpoint(model, path):
    """Load weights; returns the checkpoint's ``vae_scaling_factor`` (None when absent)."""
    state = torch.load(path, map_location="cpu")
    scale = None
    if isinstance(state, dict) and "state_dict" in state:
        scale = state.get("vae_scaling_factor")
        state = state["state_dict"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Buffers (position tables, frequencies) are recomputed from the config.
    missing = [k for k in missing if not any(b in k for b in ("spatial_pos", "temporal_freqs", "time_freqs"))]
    if missing or unexpected:
        raise SystemExit("checkpoint mismatch: missing=%s unexpected=%s" % (missing, unexpected))
    return scale


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name")
    ap.add_argument("--config")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint")
    ap.add_argument("--no-parity", action="store_true")
    args = ap.parse_args(argv)
    if not (args.name or args.config):
        ap.error("--name or --config is required")

    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    cfg = load_config(args.config or args.name)
    if args.name:
        cfg["name"] = args.name

    os.makedirs(args.out, exist_ok=True)
    clean_package_dir(args.out)
    vocab = write_tokenizer(args.out, cfg["tokenizer"]["max_tokens"])

    model = PackageModel(cfg, vocab_size=len(vocab))
    if args.checkpoint:
        scale = load_checkpoint(model, args.checkpoint)
        if scale is not None:
            # measured latent scale of the trained VAE (manifest vae.scaling_factor)
            cfg["vae"]["scaling_factor"] = float(scale)
    model.eval()

    parts = model.parts()
    for rel, module in parts.items():
        export_part(module, rel, cfg, args.out)
        print("exported %-28s %8d bytes" % (rel, os.path.getsize(os.path.join(args.out, rel))))

    if not args.no_parity:
        fixture = build_parity(model, cfg, vocab, seed=args.seed)
        write_parity(os.path.join(args.out, "parity.json"), fixture)
        print("wrote    parity.json                  %8d bytes" % os.path.getsize(os.path.join(args.out, "parity.json")))

    blocks = [rel for rel in parts if rel.startswith("transformer/block_")]
    write_manifest(args.out, build_manifest(cfg, args.out, blocks))
    problems = verify_package(args.out)
    if problems:
        raise SystemExit("package verification failed: %s" % problems)
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(args.out) for n in ns)
    print("package %s: %d bytes in %.1f s" % (args.out, total, time.time() - t0))


if __name__ == "__main__":
    main()
