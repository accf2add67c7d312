"""Fine-tune the VAE decoder on the latents the trained denoiser itself produces.

    nice -n 19 /usr/bin/python3 -m models.train.decoder_tune --checkpoint ~/.cache/spool-train/dit-mini/best.pt \\
        --bank-run dit-mini --run dec-tune --pairs 4000 --minutes 30

Why: the decoder was trained on the VAE encoder's latents, but in service it
decodes the denoiser's. Those differ in a systematic way: finishing the bank's
own square clips with the sampler from t = 100 already turns their corners
soft (judge's fill ratio 0.92 -> 0.87, squares 10/12 -> 4/12 right) while
circles and triangles keep their shape. This tool shows the decoder what the
denoiser really hands it and what the clip really looked like.

Pairs (``pairs_<k>.pt``, made once, resumable): a clip of the run's latent bank
(F latent frames), noised to a timestep t0 of the sampler's schedule
(``--steps``, uniform over those at or below ``--t-max``) and finished by the
package's sampler (``sampling.finish``: DDIM, classifier-free guidance
``--guidance`` with a training caption of the clip), paired with the clip's
true frames from ``world.render``. A share ``--clean-frac`` keeps the bank's
latents as they are, so the decoder stays as good on clean latents. Every
``--holdout``-th pair is kept for validation. ``--parts N --part k`` splits
pair making over N processes (one per core), and a training run
(``--part`` not given) waits until every part is there.

Training: only the decoder, from the checkpoint's own, with the loss of
``models.train.vae --decoder-only`` (L1 + MSE + edge-weighted L1 on the true
frames). Validation every ``--eval-every`` steps on the held-out pairs: PSNR on
the finished and on the clean pairs, and the judge's shape, colour and
background accuracy on the finished shape pairs (t0 >= 250). The decoder with
the best such shape accuracy (ties: colour) is written as ``best.pt``: the
checkpoint with its ``vae_decoder`` replaced, for
``models.package.export --checkpoint``.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

from models.lib import judge, world
from models.lib.bank import Bank
from models.lib.checkpoint import load_model
from models.lib.sampling import finish, to_unit
from models.lib.schedule import timesteps
from models.lib.training import log, psnr, run_dir, save_atomic
from models.lib.vae import edge_l1

F_PAIRS = 4  # 13 frames: the decoder sees one latent frame and its predecessor at a time


def make_pairs(args, part):
    """Pairs of part ``part``: finished latents [N, F, C, h, w] (half), t0 per pair (-1: clean), uint8 true frames."""
    path = os.path.join(run_dir(args.run), "pairs_%d.pt" % part)
    if os.path.isfile(path):
        return
    model, cfg, vocab = load_model(args.name, args.checkpoint)
    bank = Bank(run_dir(args.bank_run))
    rng = np.random.RandomState(4242 + part)
    gen = torch.Generator().manual_seed(4242 + part)
    ts = [t for t in timesteps(cfg["scheduler"], args.steps) if t <= args.t_max]
    n = args.pairs // args.parts
    lats, t0s, frames, specs = [], [], [], []
    t_start = time.time()
    while len(t0s) < n:
        b = min(args.batch, n - len(t0s))
        x0, sp = bank.window(rng, b, F_PAIRS)
        if rng.rand() < args.clean_frac:
            t0 = -1
            x = x0
        else:
            t0 = int(ts[rng.randint(len(ts))])
            caps = [world.caption(s, rng, "train") for s in sp]
            x = finish(model, cfg, vocab, caps, x0, t0, steps=args.steps, guidance=args.guidance, generator=gen)
        lats.append(x.half())
        t0s += [t0] * b
        n_frames = 4 * (F_PAIRS - 1) + 1
        frames.append(torch.from_numpy(np.stack([(world.render(s, n_frames) * 255).round().astype(np.uint8) for s in sp])))
        specs += sp
        if len(t0s) % (20 * args.batch) < b:
            print("part %d: %d / %d pairs (%.0f s)" % (part, len(t0s), n, time.time() - t_start), flush=True)
    save_atomic({"lat": torch.cat(lats), "t0": torch.tensor(t0s), "frames": torch.cat(frames), "specs": specs}, path)


def load_pairs(d, parts, wait_minutes):
    """Every part's pairs; waits for parts other processes are still making, at most ``wait_minutes``."""
    paths = [os.path.join(d, "pairs_%d.pt" % k) for k in range(parts)]
    until, said = time.time() + wait_minutes * 60, 0.0
    while not all(os.path.isfile(p) for p in paths):
        missing = [p for p in paths if not os.path.isfile(p)]
        if time.time() > until:
            sys.exit("no pairs after %.0f min: %s (make them with --parts %d --part K)" % (wait_minutes, ", ".join(missing), parts))
        if time.time() - said > 60:
            print("waiting for %s" % ", ".join(missing), flush=True)
            said = time.time()
        time.sleep(5)
    got = [torch.load(p) for p in paths]
    return {
        "lat": torch.cat([g["lat"] for g in got]).float(),
        "t0": torch.cat([g["t0"] for g in got]),
        "frames": torch.cat([g["frames"] for g in got]),
        "specs": sum((g["specs"] for g in got), []),
    }


def to_model_frames(u8):
    """uint8 [B, T, H, W, 3] -> float [B, T, 3, H, W] in [-1, 1]."""
    return u8.permute(0, 1, 4, 2, 3).float() / 127.5 - 1.0


def decoder_loss(y, x, edge_weight):
    """``models.train.vae --decoder-only``'s loss: edge-weighted L1 + MSE."""
    return edge_l1(y, x, edge_weight) + (y - x).pow(2).mean()


@torch.no_grad()
def validate(dec, scale, val):
    """PSNR on finished and clean held-out pairs; judge accuracies on finished shape pairs with t0 >= 250."""
    finished, clean, recs = [], [], []
    for i in range(0, len(val["t0"]), 32):
        lat, t0 = val["lat"][i : i + 32], val["t0"][i : i + 32]
        y = dec(lat / scale)
        x = to_model_frames(val["frames"][i : i + 32])
        for k in range(len(t0)):
            (clean if int(t0[k]) < 0 else finished).append(psnr(y[k : k + 1], x[k : k + 1]))
        vids = to_unit(y)
        for k in range(len(t0)):
            sp = val["specs"][i + k]
            if int(t0[k]) >= 250 and sp["kind"] == "shape":
                expect = {key: sp[key] for key in ("shape", "color", "background", "direction")}
                recs.append(judge.judge_frames(vids[k], expect))
    mean = lambda xs: round(float(np.mean(xs)), 2) if xs else None  # noqa: E731
    out = {"psnr_finished": mean(finished), "psnr_clean": mean(clean), "n_judged": len(recs)}
    for key in ("shape", "color", "background"):
        out[key] = round(float(np.mean([r["correct"][key] for r in recs])), 4)
    for sh in world.SHAPES:
        rs = [r for r in recs if r["expect"]["shape"] == sh]
        out[sh] = round(float(np.mean([r["correct"]["shape"] for r in rs])), 4) if rs else None
    return out


def train(args):
    d = run_dir(args.run)
    logf = os.path.join(d, "log.jsonl")
    model, cfg, _ = load_model(args.name, args.checkpoint)
    ck = torch.load(args.checkpoint, map_location="cpu")  # best.pt keeps its other entries
    scale = cfg["vae"]["scaling_factor"]
    pairs = load_pairs(d, args.parts, args.wait_minutes)
    n = len(pairs["t0"])
    is_val = torch.arange(n) % args.holdout == 0
    pick = lambda m: {k: (v[m] if torch.is_tensor(v) else [s for s, keep in zip(v, m.tolist()) if keep]) for k, v in pairs.items()}  # noqa: E731
    val, tr = pick(is_val), pick(~is_val)
    dec = model.vae_decoder
    for p in dec.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(dec.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    state_path = os.path.join(d, "state.pt")
    step, trained, best = 0, 0.0, None
    if os.path.isfile(state_path):
        st = torch.load(state_path)
        dec.load_state_dict(st["decoder"])
        opt.load_state_dict(st["opt"])
        step, trained, best = st["step"], st["trained_seconds"], st["best"]
        log(logf, event="resume", step=step, trained_minutes=round(trained / 60, 2))
    else:
        dec.eval()
        first = validate(dec, scale, val)
        dec.train()
        log(logf, event="start", pairs=n, val=len(val["t0"]), step=0, **first)
    rng = np.random.RandomState(77 + step)
    budget = args.minutes * 60

    def key(v):
        return (v["shape"], v["color"], v["background"])

    def save_best():
        sd = dict(ck["state_dict"])
        sd.update({"vae_decoder." + k: v.clone() for k, v in dec.state_dict().items()})
        save_atomic({**{k: v for k, v in ck.items() if k != "state_dict"}, "state_dict": sd, "decoder_tune": best}, os.path.join(d, "best.pt"))

    while trained < budget:
        t_step = time.time()
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(trained / budget, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.from_numpy(rng.randint(0, len(tr["t0"]), size=args.batch))
        y = dec(tr["lat"][idx] / scale)
        loss = decoder_loss(y, to_model_frames(tr["frames"][idx]), args.edge_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dec.parameters(), 1.0)
        opt.step()
        step += 1
        trained += time.time() - t_step
        if step % args.eval_every == 0 or trained >= budget:
            dec.eval()
            v = validate(dec, scale, val)
            dec.train()
            if best is None or key(v) >= key(best):
                best = v
                save_best()
            log(logf, step=step, minutes=round(trained / 60, 2), loss=round(loss.item(), 4), lr=round(lr, 6), best_shape=best["shape"], **v)
            save_atomic({"decoder": dec.state_dict(), "opt": opt.state_dict(), "step": step, "trained_seconds": trained, "best": best}, state_path)
    log(logf, event="done", step=step, trained_minutes=round(trained / 60, 2), best=best)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--checkpoint", required=True, help="exportable checkpoint (models.train.dit's best.pt) whose denoiser makes the latents and whose decoder is tuned")
    ap.add_argument("--bank-run", required=True, help="run whose latent bank supplies the clips")
    ap.add_argument("--run", default="dec-tune")
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--parts", type=int, default=1, help="pair making split over this many processes")
    ap.add_argument("--part", type=int, help="make only this part of the pairs, then stop")
    ap.add_argument("--wait-minutes", type=float, default=60.0, help="how long training waits for parts made by other processes")
    ap.add_argument("--steps", type=int, default=30, help="sampler steps whose timesteps t0 is drawn from")
    ap.add_argument("--t-max", type=int, default=700, help="largest t0 (above it the finished clip no longer follows the true one)")
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--clean-frac", type=float, default=0.2)
    ap.add_argument("--holdout", type=int, default=10, help="every n-th pair is held out for validation")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--edge-weight", type=float, default=4.0)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(run_dir(args.run), exist_ok=True)
    with open(os.path.join(run_dir(args.run), "args.json"), "w") as fh:
        json.dump(vars(args), fh, indent=1)
    if args.part is not None:
        make_pairs(args, args.part)
        return
    if args.parts == 1:
        make_pairs(args, 0)
    train(args)


if __name__ == "__main__":
    main()
