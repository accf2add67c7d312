"""Train the text encoder + transformer denoiser of a package jointly, from scratch, on the latent bank.

    nice -n 19 /usr/bin/python3 -m models.train.dit --name cogvideox-mini --vae-run vae-mini --run dit-mini --minutes 70 --workers 2

Objective: v-prediction under the package scheduler (scaled-linear betas, SNR
shift, zero-terminal-SNR rescale; ``sampling.train_schedule``), timesteps
uniform in 0..999 (optionally a share ``--t-low-frac`` drawn from
0..``--t-low-max`` - 1: under the SNR-shifted schedule the shapes form at
low t, so more samples there train them faster), 10 % caption dropout to the empty prompt (the service's
unconditional input). Clips of F latent frames (F = 3 .. 26, mostly short,
with 13 and 26 for 49- and 100-frame videos) from the bank; the batch size
follows a fixed video-token budget. EMA weights
are kept and used for evaluation and export. ``--text-aux-weight`` adds linear
heads (training only) that read the caption's attributes from the pooled text.

Speed: the model's matrices are small, so one torch thread per process is
faster than two (0.9 s per step with two threads, 0.5 s with one, measured
here); ``--workers N`` runs N single-thread processes that average their
gradients every step (gloo over 127.0.0.1), one per core.

Every ``--eval-minutes`` the EMA model samples the fixed held-out prompts
(``world.eval_set``) with the DDIM + CFG sampler (guidance 5 and the package's
guidance rescale, as the service samples); the judge (``models.lib.judge``)
scores them and the scores go to ``log.jsonl``; the best-scoring EMA weights
are written as ``best.pt`` (an ``architecture.PackageModel`` state_dict with
the VAE decoder — the latest of ``--decoder-run`` when given — loadable by ``models.package.export --checkpoint``).

Resumable: ``state.pt`` in ``~/.cache/spool-train/<run>/`` every
``--ckpt-minutes``; rerun the same command (with a larger ``--minutes`` to
train longer).
"""

import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

from models.lib import judge, world
from models.lib.architecture import PackageModel
from models.lib.bank import Bank
from models.lib.config import load_config, tokens_per_frame
from models.lib.losses import AUX_ATTRIBUTES, object_weight, pixel_loss, text_aux_loss
from models.lib.sampling import diffuse, frame_noise, sample, to_unit, train_schedule
from models.lib.tokenizer import build_vocab, encode_prompt
from models.lib.training import log, run_dir, save_atomic
from models.lib.vae import load_vae
from models.lib.workers import stop_with_parent

TRAINED_PREFIXES = ("text_encoder.", "embed.", "blocks.", "head.")


def init_denoiser(model):
    for blk in model.blocks:
        for m in blk.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for ln in (blk.norm1.linear, blk.norm2.linear):  # adaLN-zero: blocks start as identity
            nn.init.zeros_(ln.weight)
            nn.init.zeros_(ln.bias)
    nn.init.zeros_(model.head.norm_out_linear.weight)
    nn.init.zeros_(model.head.norm_out_linear.bias)
    nn.init.zeros_(model.head.proj_out.weight)
    nn.init.zeros_(model.head.proj_out.bias)
    nn.init.normal_(model.embed.time_lin1.weight, std=0.02)
    nn.init.normal_(model.embed.time_lin2.weight, std=0.02)
    if model.embed.pooled_text:
        nn.init.normal_(model.embed.pool_lin1.weight, std=0.02)
        nn.init.normal_(model.embed.pool_lin2.weight, std=0.02)


def trained_params(model):
    return [p for n, p in model.named_parameters() if n.startswith(TRAINED_PREFIXES)]


FRAME_CHOICES = [3] * 30 + [4] * 22 + [5, 6, 7, 8] * 4 + [9, 11, 13, 13] * 3 + [13] * 3 + [17, 21, 26, 26] * 2


def evaluate(model, cfg, vocab, items, frames=13, steps=20, guidance=5.0, seed=0, batch=12):
    recs = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        vids = to_unit(sample(model, cfg, vocab, [it["prompt"] for it in chunk], num_frames=frames, steps=steps, guidance=guidance, seed=seed + i))
        for it, v in zip(chunk, vids):
            r = judge.judge_frames(v, it["expect"])
            r["prompt"] = it["prompt"]
            recs.append(r)
    return judge.summarise(recs), recs


def score(summary):
    keys = ["scene", "background", "color", "shape", "direction"]
    return float(np.mean([summary[k]["accuracy"] for k in keys if k in summary]))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--vae-run", default="vae-mini")
    ap.add_argument("--run", default="dit-mini")
    ap.add_argument("--bank-run", help="run whose latent bank and scale.json to train on (default: --run)")
    ap.add_argument("--minutes", type=float, default=70.0)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--token-budget", type=int, default=3072, help="video tokens per step")
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--cfg-dropout", type=float, default=0.1)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--eval-minutes", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker (one per core is fastest here: small matrices)")
    ap.add_argument("--workers", type=int, default=1, help="data-parallel worker processes (gradients averaged over 127.0.0.1 with gloo); one per core")
    ap.add_argument("--t-low-frac", type=float, default=0.0, help="share of timesteps drawn uniformly from [0, --t-low-max) instead of [0, 1000)")
    ap.add_argument("--t-low-max", type=int, default=500)
    ap.add_argument("--t-high-frac", type=float, default=0.0, help="share of timesteps drawn uniformly from [--t-high-min, 1000)")
    ap.add_argument("--t-high-min", type=int, default=700)
    ap.add_argument("--temporal-weight", type=float, default=0.0, help="weight of the loss on frame-to-frame differences of the v error (motion)")
    ap.add_argument("--object-weight", type=float, default=0.0, help="extra loss weight on the object's latent pixels (see object_weight)")
    ap.add_argument("--text-aux-weight", type=float, default=0.0, help="weight of the caption-attribute loss on the pooled text (see text_aux_loss)")
    ap.add_argument("--shape-weights", default="", help='draw clips of these shapes more often, e.g. "square=2" (see Bank.window)')
    ap.add_argument("--pixel-weight", type=float, default=0.0, help="weight of the loss on decoded pixels of the predicted clip (see pixel_loss)")
    ap.add_argument("--pixel-t-max", type=int, default=400, help="pixel loss only on timesteps below this")
    ap.add_argument("--pixel-clips", type=int, default=4, help="pixel loss on at most this many clips per step")
    ap.add_argument("--pixel-frames", type=int, default=3, help="pixel loss on the first this many latent frames of a clip")
    ap.add_argument("--init-from", help="state.pt of another run to start from (weights and EMA; fresh optimizer and schedule), used when this run has no state yet")
    ap.add_argument("--decoder-run", help="run of a decoder fine-tune (models.train.vae --decoder-only); its latest decoder is used for evaluation and export")
    args = ap.parse_args(argv)
    if args.workers > 1:
        import socket

        import torch.multiprocessing as mp

        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            args.port = sk.getsockname()[1]
        mp.spawn(train, args=(args,), nprocs=args.workers)
    else:
        train(0, args)


def train(rank, args):
    """One worker: with --workers N, N of these keep identical weights and average gradients every step."""
    workers = args.workers
    lead = rank == 0
    if workers > 1:
        import torch.distributed as dist

        stop_with_parent()

        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % args.port, rank=rank, world_size=workers)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.name)
    d = run_dir(args.run)
    bank_dir = run_dir(args.bank_run or args.run)
    scale = json.load(open(os.path.join(bank_dir, "scale.json")))["scaling_factor"]
    cfg["vae"]["scaling_factor"] = scale
    vocab = build_vocab()
    L = cfg["tokenizer"]["max_tokens"]
    T = tokens_per_frame(cfg)

    torch.manual_seed(0)
    model = PackageModel(cfg, len(vocab))
    init_denoiser(model)
    _, dec, _ = load_vae(cfg, os.path.join(run_dir(args.vae_run), "vae.pt"))
    model.vae_decoder.load_state_dict(dec.state_dict())
    model.vae_decoder.requires_grad_(False)  # frozen: the pixel loss only passes gradients through it
    params = trained_params(model)
    aux_heads = nn.ModuleDict({k: nn.Linear(cfg["text_encoder"]["hidden_size"], len(v)) for k, v in AUX_ATTRIBUTES.items()})
    if args.text_aux_weight > 0:
        params = params + list(aux_heads.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    ema_params = dict(ema.named_parameters())
    ema_pairs = [(ema_params[n], p) for n, p in model.named_parameters() if n.startswith(TRAINED_PREFIXES)]  # the VAE decoder is not trained
    step, trained, best = 0, 0.0, -1.0
    state_path = os.path.join(d, "state.pt")
    logf = os.path.join(d, "log.jsonl")
    say = (lambda **kw: log(logf, **kw)) if lead else (lambda **kw: None)  # noqa: E731
    if os.path.isfile(state_path):
        st = torch.load(state_path)
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        if "aux" in st:
            aux_heads.load_state_dict(st["aux"])
        saved = sum(len(g["params"]) for g in st["opt"]["param_groups"])
        if saved != len(params):
            sys.exit("%s was saved %s --text-aux-weight; resume it the same way, or start a new run from it with --init-from"
                     % (state_path, "with" if saved > len(params) else "without"))
        opt.load_state_dict(st["opt"])
        step, trained, best = st["step"], st["trained_seconds"], st.get("best", -1.0)
        say(event="resume", step=step, trained_minutes=round(trained / 60, 2), best=best)
    elif args.init_from:
        st = torch.load(args.init_from)
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        if "aux" in st:  # the caption heads go on from where they were, not from random
            aux_heads.load_state_dict(st["aux"])
        say(event="init", source=args.init_from, source_step=st["step"], source_minutes=round(st["trained_seconds"] / 60, 2))
    n_params = sum(p.numel() for p in params)
    say(event="start", params=n_params, scale=scale, minutes=args.minutes, workers=workers, threads=args.threads)
    if workers > 1:
        for p in params:
            dist.broadcast(p.data, 0)

    bank = Bank(bank_dir)
    missing = sorted(set(FRAME_CHOICES) - set(bank.lat))
    if missing:
        sys.exit("latent bank %s has no clips of %s latent frames (run models.train.bank for this run first)" % (bank_dir, missing))
    ac = torch.tensor(train_schedule(cfg), dtype=torch.float32)
    rho = float(cfg["scheduler"].get("frame_noise_correlation", 0.0))
    shared_rng = np.random.RandomState(step + 17)  # same on every worker: clip length (equal work per step)
    rng = np.random.RandomState(step + 17 + 7919 * rank)
    torch.manual_seed(step + 17 + 7919 * rank)
    eval_items = world.eval_set()
    shape_weights = {k: float(v) for k, v in (kv.split("=") for kv in args.shape_weights.split(",") if kv)}
    unknown = set(shape_weights) - set(world.SHAPES)
    if unknown:
        sys.exit("--shape-weights names no shape of the world: %s (shapes: %s)" % (sorted(unknown), world.SHAPES))
    budget = args.minutes * 60
    t_ckpt, t_eval_trained, t_refresh = time.time(), trained, time.time()
    losses, aux_losses, px_losses = [], [], []
    if args.pixel_weight > 0 and args.decoder_run:  # the pixel loss decodes with the decoder that ships
        p = os.path.join(run_dir(args.decoder_run), "vae.pt")
        if os.path.isfile(p):
            model.vae_decoder.load_state_dict(torch.load(p, map_location="cpu")["decoder"])

    def checkpoint():
        save_atomic({"model": model.state_dict(), "ema": ema.state_dict(), "aux": aux_heads.state_dict(), "opt": opt.state_dict(), "step": step, "trained_seconds": trained, "best": best, "scale": scale}, state_path)

    def export_ckpt(path, extra):
        save_atomic({"state_dict": ema.state_dict(), "vae_scaling_factor": scale, "step": step, **extra}, path)

    while trained < budget:
        t0 = time.time()
        frac = trained / budget
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.15 + 0.85 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        f = FRAME_CHOICES[shared_rng.randint(len(FRAME_CHOICES))]
        b = max(2, min(args.max_batch, args.token_budget // (f * T)))
        x0, specs = bank.window(rng, b, f, shape_weights)
        caps = ["" if rng.rand() < args.cfg_dropout else world.caption(sp, rng, "train") for sp in specs]
        ids = torch.tensor([encode_prompt(c, vocab, L) for c in caps], dtype=torch.int64)
        u = rng.rand(b)
        t = np.where(u < args.t_low_frac, rng.randint(0, args.t_low_max, size=b), rng.randint(0, 1000, size=b))
        t = np.where(u >= 1.0 - args.t_high_frac, rng.randint(args.t_high_min, 1000, size=b), t)
        t = torch.from_numpy(t)
        a = ac[t].view(b, 1, 1, 1, 1)
        eps = frame_noise(x0.shape, rho)
        xt, v = diffuse(x0, eps, a)
        text = model.text_encoder(ids)
        pred = model.transformer(xt, text, t.float())
        err = pred - v
        w = object_weight(x0, args.object_weight)
        loss = (w * err.pow(2)).mean()
        if args.text_aux_weight > 0:
            aux = text_aux_loss(aux_heads, text, caps, specs)
            loss = loss + args.text_aux_weight * aux
            aux_losses.append(float(aux))
        if args.pixel_weight > 0:
            x0_pred = a.sqrt() * xt - (1 - a).sqrt() * pred
            px = pixel_loss(model.vae_decoder, x0, x0_pred, t, specs, scale, args.pixel_t_max, args.pixel_clips, args.pixel_frames, args.object_weight)
            if px is not None:
                loss = loss + args.pixel_weight * px
                px_losses.append(float(px))
        if args.temporal_weight > 0 and f > 1:
            # Frame-to-frame change of the error: zero for an error shared by all frames, so this
            # term weighs what varies across frames (motion, flicker) against colours and layout.
            wt = torch.maximum(w[:, 1:], w[:, :-1])
            loss = loss + args.temporal_weight * (wt * (err[:, 1:] - err[:, :-1]).pow(2)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if workers > 1:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            flat = torch._utils._flatten_dense_tensors(grads)
            dist.all_reduce(flat)
            flat /= workers
            for p, g in zip(params, torch._utils._unflatten_dense_tensors(flat, grads)):
                p.grad = g
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if lead:  # only the lead evaluates and saves, so only it keeps the EMA
            decay = min(args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, pm in ema_pairs:
                    pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        trained += time.time() - t0
        if workers > 1:  # the lead's clock decides when every worker stops
            clock = torch.tensor([trained], dtype=torch.float64)
            dist.broadcast(clock, 0)
            trained = float(clock)
        losses.append(loss.item())
        if step % 50 == 0:
            extra = {"text_aux": round(float(np.mean(aux_losses)), 4)} if aux_losses else {}
            if px_losses:
                extra["pixel"] = round(float(np.mean(px_losses)), 4)
            say(step=step, minutes=round(trained / 60, 2), loss=round(float(np.mean(losses)), 4), **extra, lr=round(lr, 6), F=f, batch=b, sec_per_step=round(time.time() - t0, 2), bank=len(bank))
            losses, aux_losses, px_losses = [], [], []
        if time.time() - t_refresh > 120:
            if bank.refresh():
                say(event="bank", clips=len(bank))
            t_refresh = time.time()
        if not lead:
            continue
        if time.time() - t_ckpt > args.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
        if trained - t_eval_trained > args.eval_minutes * 60 or trained >= budget:
            t_eval_trained = trained
            te = time.time()
            if args.decoder_run:
                p = os.path.join(run_dir(args.decoder_run), "vae.pt")
                if os.path.isfile(p):
                    dst = torch.load(p, map_location="cpu")["decoder"]
                    model.vae_decoder.load_state_dict(dst)
                    ema.vae_decoder.load_state_dict(dst)
            summ, recs = evaluate(ema, cfg, vocab, eval_items)
            sc = score(summ)
            say(event="eval", step=step, minutes=round(trained / 60, 2), score=round(sc, 4), summary=summ, eval_seconds=round(time.time() - te, 1))
            with open(os.path.join(d, "eval_last.json"), "w") as fh:
                json.dump(recs, fh, indent=1)
            export_ckpt(os.path.join(d, "last.pt"), {"summary": summ})
            if sc >= best:
                best = sc
                export_ckpt(os.path.join(d, "best.pt"), {"summary": summ})
            checkpoint()
    if lead:
        checkpoint()
    sync = {}
    if workers > 1:  # every worker must end with the same weights
        sums = torch.tensor([float(sum(p.detach().double().sum() for p in params))], dtype=torch.float64)
        gathered = [torch.zeros_like(sums) for _ in range(workers)]
        dist.all_gather(gathered, sums)
        sync = {"worker_weight_sums": [float(x) for x in gathered]}
    say(event="done", step=step, trained_minutes=round(trained / 60, 2), best=best, **sync)
    if workers > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
