"""Which caption words a trained denoiser reads: its v-prediction loss on ground-truth windows with the true caption and with one attribute changed.

    /usr/bin/python3 -m models.train.caption_probe --checkpoint ~/.cache/spool-train/dit-mini/last.pt --bank-run dit-mini

Windows of 4 latent frames of shape clips come from a run's latent bank; each is
noised at t in ``--timesteps`` (same noise for every caption, under the package's
``frame_noise_correlation``) and the loss is measured with: the true caption, the
direction replaced by its opposite, the shape replaced by another, the colour
replaced by another, and the empty prompt. A word the model reads raises the loss
when it is wrong; equal losses mean the model ignores that word. Prints one JSON
line per timestep.
"""

import argparse
import json

import numpy as np
import torch

from models.lib import world
from models.lib.architecture import PackageModel
from models.lib.bank import Bank
from models.lib.config import load_config
from models.lib.sampling import diffuse, frame_noise, train_schedule
from models.lib.tokenizer import build_vocab, encode_prompt
from models.lib.training import run_dir

OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}


def other(values, v, shift=1):
    return values[(values.index(v) + shift) % len(values)]


def other_colour(spec):
    c = spec["color"]
    for k in range(1, len(world.COLOR_NAMES)):
        cand = other(world.COLOR_NAMES, c, k)
        if cand != spec["background"]:
            return cand
    raise ValueError(spec)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--bank-run", default="dit-mini")
    ap.add_argument("--clips", type=int, default=64)
    ap.add_argument("--timesteps", default="100,300,500,700")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.name)
    st = torch.load(args.checkpoint, map_location="cpu")
    vocab = build_vocab()
    model = PackageModel(cfg, len(vocab))
    model.load_state_dict(st["state_dict"] if "state_dict" in st else st)
    model.eval()
    bank = Bank(run_dir(args.bank_run))
    rng = np.random.RandomState(5)
    windows, specs = [], []
    while len(specs) < args.clips:
        x, sp = bank.window(rng, 1, 4)
        if sp[0]["kind"] == "shape":
            windows.append(x)
            specs.append(sp[0])
    x0 = torch.cat(windows)

    def captions(change):
        r = np.random.RandomState(9)  # same phrasing for every variant
        out = []
        for sp in specs:
            sp2 = dict(sp)
            sp2.update(change(sp))
            out.append(world.caption(sp2, r, "train"))
        return out

    variants = {
        "true": captions(lambda s: {}),
        "direction_opposite": captions(lambda s: {"direction": OPPOSITE[s["direction"]]}),
        "shape_other": captions(lambda s: {"shape": other(world.SHAPES, s["shape"])}),
        "colour_other": captions(lambda s: {"color": other_colour(s)}),
        "empty": [""] * len(specs),
    }
    L = cfg["tokenizer"]["max_tokens"]
    ids = {k: torch.tensor([encode_prompt(c, vocab, L) for c in cs], dtype=torch.int64) for k, cs in variants.items()}
    ac = torch.tensor(train_schedule(cfg), dtype=torch.float32)
    rho = float(cfg["scheduler"].get("frame_noise_correlation", 0.0))
    with torch.no_grad():
        text = {k: model.text_encoder(v) for k, v in ids.items()}
        for t in [int(s) for s in args.timesteps.split(",")]:
            torch.manual_seed(t)
            eps = frame_noise(x0.shape, rho)
            a = ac[t]
            xt, v = diffuse(x0, eps, a)
            tt = torch.full((len(specs),), float(t))
            losses = {k: round(float((model.transformer(xt, h, tt) - v).pow(2).mean()), 5) for k, h in text.items()}
            print(json.dumps({"t": t, "loss": losses}), flush=True)


if __name__ == "__main__":
    main()
