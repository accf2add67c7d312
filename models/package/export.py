"""Build a complete model package directory (tokenizer, ONNX files, parity fixture, manifest).

Usage (from the repository root; Debian's Python with torch and onnx):

    /usr/bin/python3 -m models.package.export --name cogvideox-tiny --out models/cogvideox-tiny --seed 0

Options:
    --name NAME         config ``models/configs/NAME.json`` (package name)
    --config PATH       explicit config JSON instead of --name
    --out DIR           package directory to (re)write
    --seed N            seed for random initialisation and parity inputs (default 0)
    --checkpoint PATH   torch state_dict of ``models.lib.architecture.PackageModel`` (random init when
                        absent), or {"state_dict": ..., "vae_scaling_factor": s} (s overrides the config's
                        vae.scaling_factor, as written by ``models.train.dit``)
    --no-parity         skip writing parity.json

The output is reproducible for a given seed, config and torch version.
"""

import argparse
import glob
import os
import time

import torch

from models.lib.architecture import PackageModel
from models.lib.checkpoint import load_checkpoint
from models.lib.config import load_config
from models.lib.manifest import build_manifest, verify_package, write_manifest
from models.lib.onnx_export import export_part
from models.lib.parity import build_parity, write_parity
from models.lib.tokenizer import write_tokenizer

GENERATED = ["manifest.json", "tokenizer.json", "tokenizer_config.json", "text_encoder.onnx", "vae_decoder.onnx", "parity.json"]


def clean_package_dir(out_dir):
    for rel in GENERATED:
        p = os.path.join(out_dir, rel)
        if os.path.isfile(p):
            os.remove(p)
    for p in glob.glob(os.path.join(out_dir, "transformer", "*.onnx")):
        os.remove(p)


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
