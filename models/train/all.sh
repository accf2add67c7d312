#!/bin/sh
# Rebuild cogvideox-mini from nothing: VAE -> latent bank -> (decoder fine-tune || text encoder + DiT)
# -> export -> evaluation -> samples. About 2 h 15 min on 2 shared CPU cores (measured at full length).
#
#   nohup nice -n 19 sh models/train/all.sh > ~/.cache/spool-train/train_all.log 2>&1 &
#
# Runs from the repository root (it changes there itself), each step a `python3 -m` entry point.
# State lives in ~/.cache/spool-train/ (override with SPOOL_TRAIN_DIR); every stage resumes from its
# checkpoint when rerun, so the script can be stopped and started again. Minutes are training time
# per stage.
set -e
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
VAE_MINUTES=${VAE_MINUTES:-21}
DEC_MINUTES=${DEC_MINUTES:-35}
DIT_MINUTES=${DIT_MINUTES:-100}
BANK_SHARDS=${BANK_SHARDS:-16}
RUNS=${SPOOL_TRAIN_DIR:-$HOME/.cache/spool-train}
mkdir -p "$RUNS"

$PY -m models.train.vae --name cogvideox-mini --run vae-mini --minutes "$VAE_MINUTES" --batch 16
$PY -m models.train.bank --name cogvideox-mini --vae-run vae-mini --run dit-mini --shards "$BANK_SHARDS"
# decoder fine-tune (frozen encoder) in parallel with the denoiser, one thread; the denoiser
# runs two single-thread data-parallel workers (faster than one two-thread process)
$PY -m models.train.vae --name cogvideox-mini --run vae-mini-dec --init-run vae-mini --decoder-only \
    --minutes "$DEC_MINUTES" --latent-noise 0.03 --edge-weight 4 --scene-prob 0.15 --lr 1e-3 \
    --threads 1 --batch 12 --eval-every 50 > "$RUNS/vae-mini-dec.log" 2>&1 &
DEC=$!
$PY -m models.train.dit --name cogvideox-mini --vae-run vae-mini --run dit-mini --minutes "$DIT_MINUTES" \
    --decoder-run vae-mini-dec --t-low-frac 0.4 --t-low-max 700 --t-high-frac 0.3 --t-high-min 600 \
    --temporal-weight 2 --object-weight 8 --text-aux-weight 0.2 --workers 2
wait $DEC
CKPT=$RUNS/dit-mini/best.pt
$PY -m models.package.export --name cogvideox-mini --out models/cogvideox-mini --seed 0 --checkpoint "$CKPT"
$PY -m models.package.check models/cogvideox-mini
$PY -m bench.eval.evaluate_pytorch --checkpoint "$CKPT" --frames 13,49,100 --via-mp4 --out bench/eval/results/cogvideox-mini-pytorch.json
$PY -m models.package.samples --checkpoint "$CKPT" --out models/samples
