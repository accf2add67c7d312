"""Train the package VAE (encoder ``models.lib.vae.VaeEncoder``, decoder ``architecture.VaeDecoder``) on rendered clips.

    nice -n 19 /usr/bin/python3 -m models.train.vae --name cogvideox-mini --run vae-mini --minutes 18

Causal temporal compression 4: the clip is padded in front with 3 copies of
frame 0, frames are grouped by 4 and each group becomes one latent frame, so
latent 0 encodes frame 0 alone and latent k frames 4k-3 .. 4k (CogVideoX's
layout; the decoder inverts it). Deterministic autoencoder with small latent
noise and an L2 latent penalty; the latent scale for the diffusion model is
measured afterwards (``scaling_factor`` = 1 / std).

Decoder fine-tuning (``--decoder-only --init-run RUN``): the encoder of RUN
is frozen (its latents define the diffusion space, e.g. the latent bank),
only the decoder trains further, with less latent noise and an edge-weighted
L1 term (weight 1 + k * |spatial gradient of the target|) that sharpens
corners. It can run while the denoiser trains.

Resumable: state in ``~/.cache/spool-train/<run>/vae.pt`` (written every
``--ckpt-minutes``); rerunning the command continues until the total
``--minutes`` of training are reached.
"""

import argparse
import math
import os
import time

import numpy as np
import torch

from models.lib.config import load_config
from models.lib.training import log, psnr, render_batch, run_dir, save_atomic
from models.lib.vae import build, edge_l1


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--run", default="vae-mini")
    ap.add_argument("--minutes", type=float, default=18.0)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--decoder-only", action="store_true")
    ap.add_argument("--init-run", help="start from (and freeze the encoder of) this run's vae.pt")
    ap.add_argument("--latent-noise", type=float, default=0.1)
    ap.add_argument("--edge-weight", type=float, default=0.0)
    ap.add_argument("--scene-prob", type=float, default=0.3)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.name)
    d = run_dir(args.run)
    ckpt = os.path.join(d, "vae.pt")
    logf = os.path.join(d, "log.jsonl")
    enc, dec = build(cfg)
    if args.init_run and not os.path.isfile(ckpt):
        st = torch.load(os.path.join(run_dir(args.init_run), "vae.pt"), map_location="cpu")
        enc.load_state_dict(st["encoder"])
        dec.load_state_dict(st["decoder"])
    if args.decoder_only:
        enc.eval()
        for p in enc.parameters():
            p.requires_grad_(False)
        params = list(dec.parameters())
    else:
        params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    step, trained = 0, 0.0
    if os.path.isfile(ckpt):
        st = torch.load(ckpt, map_location="cpu")
        enc.load_state_dict(st["encoder"])
        dec.load_state_dict(st["decoder"])
        opt.load_state_dict(st["opt"])
        step, trained = st["step"], st["trained_seconds"]
        log(logf, event="resume", step=step, trained_minutes=trained / 60)
    vrng = np.random.RandomState(999)
    _, val = render_batch(vrng, 24, args.frames, "eval", scene_prob=0.25, max_start=80)
    rng = np.random.RandomState(1000 + step)
    torch.manual_seed(step)
    budget = args.minutes * 60
    t_last_ckpt = time.time()

    def save():
        save_atomic({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "opt": opt.state_dict(), "step": step, "trained_seconds": trained, "config": cfg}, ckpt)

    while trained < budget:
        t0 = time.time()
        frac = trained / budget
        lr = args.lr * (0.5 * (1 + math.cos(math.pi * min(frac, 1.0))) * 0.9 + 0.1) * min(1.0, (step + 1) / 50)
        for g in opt.param_groups:
            g["lr"] = lr
        _, x = render_batch(rng, args.batch, args.frames, "train", scene_prob=args.scene_prob, max_start=90)
        if args.decoder_only:
            with torch.no_grad():
                z = enc(x)
        else:
            z = enc(x)
        zs = z.detach().std() + 1e-6
        zn = z + args.latent_noise * zs * torch.randn_like(z)
        y = dec(zn)
        l1 = edge_l1(y, x, args.edge_weight)
        mse = (y - x).pow(2).mean()
        reg = z.pow(2).mean()
        loss = l1 + mse + 1e-4 * reg
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        trained += time.time() - t0
        if step % args.eval_every == 0 or trained >= budget:
            with torch.no_grad():
                enc.eval(), dec.eval()
                zv = enc(val)
                yv = dec(zv)
                dec.train()
                if not args.decoder_only:
                    enc.train()
            log(logf, step=step, minutes=round(trained / 60, 2), lr=lr, l1=round(l1.item(), 4), val_psnr=round(psnr(yv, val), 2), z_std=round(zv.std().item(), 4), sec_per_step=round(time.time() - t0, 3))
        if time.time() - t_last_ckpt > args.ckpt_minutes * 60:
            save()
            t_last_ckpt = time.time()
    save()
    log(logf, event="done", step=step, trained_minutes=trained / 60)


if __name__ == "__main__":
    main()
