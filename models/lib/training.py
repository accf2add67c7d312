"""Shared helpers of the training entry points: run directories, checkpoint I/O, logging, rendered batches."""

import json
import os
import time

import numpy as np
import torch

from models.lib import world


def train_dir():
    """Where runs keep their state: ``SPOOL_TRAIN_DIR``, default ``~/.cache/spool-train`` (read when asked)."""
    return os.path.expanduser(os.environ.get("SPOOL_TRAIN_DIR", "~/.cache/spool-train"))


def run_dir(run):
    d = os.path.join(train_dir(), run)
    os.makedirs(d, exist_ok=True)
    return d


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def log(path, **kw):
    kw["time"] = time.strftime("%H:%M:%S")
    line = json.dumps(kw)
    print(line, flush=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def clips_to_tensor(clips):
    """list of [T, H, W, 3] in [0, 1] -> torch [B, T, 3, H, W] in [-1, 1]."""
    a = np.stack(clips).transpose(0, 1, 4, 2, 3)
    return torch.from_numpy(a * 2.0 - 1.0).float()


def render_batch(rng, batch, n_frames, split="train", scene_prob=0.25, max_start=0):
    specs, clips = [], []
    for _ in range(batch):
        sp = world.sample_spec(rng, split, scene_prob)
        start = int(rng.randint(0, max_start + 1)) if max_start else 0
        clips.append(world.render(sp, n_frames, start))
        specs.append(sp)
    return specs, clips_to_tensor(clips)


def psnr(a, b):
    """a, b in [-1, 1]."""
    mse = ((a - b) / 2).pow(2).mean().item()
    return 10 * np.log10(1.0 / max(mse, 1e-10))

