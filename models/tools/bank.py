"""Latent bank for denoiser training: long rendered clips encoded once with the trained VAE encoder.

    nice -n 19 /usr/bin/python3 models/tools/bank.py --name cogvideox-mini --vae-run vae-mini --run dit-mini --clips 1600

Each clip is rendered for 4*25+1 = 101 frames and stored as two latent tables
([N, 26, C, h, w], float16, multiplied by the VAE scaling factor):

* ``l4[k]``: latent k of the whole clip (k = 0 encodes frame 0 alone, k >= 1 the
  4 frames 4k-3 .. 4k);
* ``l1[k]``: frame 4k encoded alone (a "first" latent).

A training window of F latents at offset o is ``[l1[o], l4[o+1], …, l4[o+F-1]]``:
exactly the encoding of frames 4o .. 4(o+F-1) as a clip of its own (the encoder
is causal and groups frames by 4), so one long clip gives many windows that
start at different phases of the motion. Written in shards of ``--shard``
clips (``bank_000.pt`` …); an existing shard is kept, so the command resumes.
The scaling factor (1 / std of the latents of shard 0) is stored in
``scale.json`` of the run.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import world  # noqa: E402
from common import clips_to_tensor, run_dir, save_atomic  # noqa: E402
from config import load_config  # noqa: E402
from vae_train import load_vae  # noqa: E402

LONG_LATENTS = 26
LONG_FRAMES = 4 * (LONG_LATENTS - 1) + 1


@torch.no_grad()
def encode_long(enc, x):
    """x [B, 101, 3, H, W] -> l4, l1 [B, 26, C, h, w]."""
    l4 = enc(x)
    firsts = x[:, 0::4]  # frames 0, 4, ..., 100
    b, k = firsts.shape[:2]
    l1 = enc(firsts.reshape(b * k, 1, *firsts.shape[2:])).reshape(b, k, *l4.shape[2:])
    return l4, l1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--vae-run", default="vae-mini")
    ap.add_argument("--run", default="dit-mini")
    ap.add_argument("--clips", type=int, default=1600)
    ap.add_argument("--shard", type=int, default=200)
    ap.add_argument("--scene-prob", type=float, default=0.22)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.name)
    enc, _, _ = load_vae(cfg, os.path.join(run_dir(args.vae_run), "vae.pt"))
    enc.eval()
    d = run_dir(args.run)
    scale_path = os.path.join(d, "scale.json")
    scale = None
    if os.path.isfile(scale_path):
        scale = json.load(open(scale_path))["scaling_factor"]
    n_shards = (args.clips + args.shard - 1) // args.shard
    for si in range(n_shards):
        path = os.path.join(d, "bank_%03d.pt" % si)
        if os.path.isfile(path):
            continue
        t0 = time.time()
        rng = np.random.RandomState(50000 + si)
        specs, l4s, l1s = [], [], []
        for j in range(0, args.shard, 8):
            batch = [world.sample_spec(rng, "train", args.scene_prob) for _ in range(min(8, args.shard - j))]
            x = clips_to_tensor([world.render(sp, LONG_FRAMES) for sp in batch])
            l4, l1 = encode_long(enc, x)
            specs += batch
            l4s.append(l4)
            l1s.append(l1)
        l4 = torch.cat(l4s)
        l1 = torch.cat(l1s)
        if scale is None:
            scale = float(1.0 / l4.std())
            json.dump({"scaling_factor": scale, "latent_mean": float(l4.mean()), "latent_std": float(l4.std())}, open(scale_path, "w"))
        save_atomic({"specs": specs, "l4": (l4 * scale).half(), "l1": (l1 * scale).half()}, path)
        print("shard %d: %d clips in %.0f s (scale %.4f)" % (si, len(specs), time.time() - t0, scale), flush=True)


if __name__ == "__main__":
    main()
