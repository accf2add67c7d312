"""Latent bank for denoiser training: rendered clips encoded once with the trained VAE encoder.

    nice -n 19 /usr/bin/python3 -m models.train.bank --name cogvideox-mini --vae-run vae-mini --run dit-mini --shards 8

A clip's motion depends on its length (an object crosses the frame once per
clip, ``world.shape_track``), so clips are rendered at each length the
denoiser trains on: F latent frames = 4(F-1)+1 frames, F in ``CLIP_COUNTS``.
A shard holds, per F, ``{"specs": [...], "lat": [N, F, C, h, w]}`` (float16,
multiplied by the VAE scaling factor); short clips, which most training steps
use, get more examples. Written as ``bank_000.pt`` …; an existing shard is
kept, so the command resumes, and a training run started meanwhile picks up
new shards as they land. The scaling factor (1 / std of the latents of shard
0) is stored in ``scale.json`` of the run.
"""

import argparse
import json
import os
import time

import numpy as np
import torch

from models.lib import world
from models.lib.config import load_config
from models.lib.training import clips_to_tensor, run_dir, save_atomic
from models.lib.vae import load_vae

# Clips per shard for each latent length F (4(F-1)+1 frames): about 28 000 frames, a minute here.
CLIP_COUNTS = {3: 200, 4: 150, 5: 80, 6: 80, 7: 80, 8: 80, 9: 60, 11: 60, 13: 60, 17: 40, 21: 40, 26: 40}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--vae-run", default="vae-mini")
    ap.add_argument("--run", default="dit-mini")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--scene-prob", type=float, default=0.22)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.name)
    enc, _, _ = load_vae(cfg, os.path.join(run_dir(args.vae_run), "vae.pt"))
    enc.eval()
    d = run_dir(args.run)
    scale_path = os.path.join(d, "scale.json")
    scale = None
    if os.path.isfile(scale_path):
        scale = json.load(open(scale_path))["scaling_factor"]
    for si in range(args.shards):
        path = os.path.join(d, "bank_%03d.pt" % si)
        if os.path.isfile(path):
            continue
        t0 = time.time()
        rng = np.random.RandomState(50000 + si)
        by_f = {}
        with torch.no_grad():
            for f, count in CLIP_COUNTS.items():
                n = 4 * (f - 1) + 1
                specs, lats = [], []
                for j in range(0, count, 8):
                    batch = [world.sample_spec(rng, "train", args.scene_prob) for _ in range(min(8, count - j))]
                    lats.append(enc(clips_to_tensor([world.render(sp, n) for sp in batch])))
                    specs += batch
                by_f[f] = {"specs": specs, "lat": torch.cat(lats)}
        if scale is None:
            allv = torch.cat([v["lat"].reshape(-1) for v in by_f.values()])
            scale = float(1.0 / allv.std())
            json.dump({"scaling_factor": scale, "latent_mean": float(allv.mean()), "latent_std": float(allv.std())}, open(scale_path, "w"))
        for v in by_f.values():
            v["lat"] = (v["lat"] * scale).half()
        save_atomic({"by_f": by_f}, path)
        n_clips = sum(len(v["specs"]) for v in by_f.values())
        print("shard %d: %d clips in %.0f s (scale %.4f)" % (si, n_clips, time.time() - t0, scale), flush=True)


if __name__ == "__main__":
    main()
