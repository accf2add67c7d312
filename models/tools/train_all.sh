#!/bin/sh
# Rebuild cogvideox-mini from nothing: VAE -> latent bank -> text encoder + DiT -> export -> evaluation -> samples.
#
#   nohup nice -n 19 sh models/tools/train_all.sh > ~/.cache/spool-train/train_all.log 2>&1 &
#
# Run from the repository root. State lives in ~/.cache/spool-train/ (override with
# SPOOL_TRAIN_DIR); every stage resumes from its checkpoint when rerun, so the script
# can be stopped and started again. Minutes are training time per stage
# (VAE_MINUTES, DIT_MINUTES environment variables).
set -e
PY=/usr/bin/python3
T=models/tools
VAE_MINUTES=${VAE_MINUTES:-18}
DIT_MINUTES=${DIT_MINUTES:-75}
CLIPS=${CLIPS:-1600}

$PY $T/vae_train.py --name cogvideox-mini --run vae-mini --minutes "$VAE_MINUTES" --batch 16
$PY $T/bank.py --name cogvideox-mini --vae-run vae-mini --run dit-mini --clips "$CLIPS"
$PY $T/dit_train.py --name cogvideox-mini --vae-run vae-mini --run dit-mini --minutes "$DIT_MINUTES"
CKPT=${SPOOL_TRAIN_DIR:-$HOME/.cache/spool-train}/dit-mini/best.pt
$PY $T/export_package.py --name cogvideox-mini --out models/cogvideox-mini --seed 0 --checkpoint "$CKPT"
$PY $T/check_package.py models/cogvideox-mini
$PY bench/eval/evaluate_pytorch.py --checkpoint "$CKPT" --frames 13,49,100 --out bench/eval/results/cogvideox-mini-pytorch.json
$PY $T/samples.py --checkpoint "$CKPT" --out models/samples
