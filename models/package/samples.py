"""Contact sheets of a trained checkpoint: one PNG per prompt, frames across time (columns) for a few seeds (rows).

    /usr/bin/python3 -m models.package.samples --checkpoint ~/.cache/spool-train/dit-mini/best.pt --out models/samples

Sampling is the service's DDIM + CFG loop (``sampling.sample``) with the
config's default steps and guidance; frames are scaled up smoothly (bilinear)
like the service's video encoder. Also writes ``index.json`` (prompt, file,
frames, seeds, judge predictions).
"""

import argparse
import json
import os

import numpy as np
import torch
from PIL import Image, ImageDraw

from models.lib import judge
from models.lib.checkpoint import load_model
from models.lib.sampling import default_guidance_rescale, sample, to_uint8

PROMPTS = [
    ("sunset-birds", "A serene sunset over the ocean with birds flying in the sky.", 49),
    ("red-circle-left", "a red circle moving left on a blue background", 49),
    ("blue-triangle-right", "A small blue triangle drifting to the right across a black backdrop.", 49),
    ("green-square-up", "green square, going up, white background", 49),
    ("yellow-circle-down-long", "a yellow circle moving down on a purple background", 100),
    ("snow-night", "snow falling at night", 49),
    ("rain-city", "rain over a city skyline", 49),
    ("orange-square-8f", "an orange square sliding left on a gray background", 8),
]


def contact_sheet(videos, cols=8, cell=96, label=None):
    """videos: uint8 [S, T, H, W, 3] -> PIL image with S rows of `cols` frames spread over time."""
    s, t = videos.shape[:2]
    idx = np.linspace(0, t - 1, min(cols, t)).round().astype(int)
    top = 18 if label else 0
    sheet = Image.new("RGB", (len(idx) * (cell + 2) + 2, s * (cell + 2) + 2 + top), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    if label:
        draw.text((4, 3), label, fill=(230, 230, 230))
    for r in range(s):
        for c, fi in enumerate(idx):
            im = Image.fromarray(videos[r, fi]).resize((cell, cell), Image.BILINEAR)
            sheet.paste(im, (2 + c * (cell + 2), top + 2 + r * (cell + 2)))
    return sheet, idx.tolist()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--out", default="models/samples")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--guidance", type=float)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)

    model, cfg, vocab = load_model(args.name, args.checkpoint)
    steps = args.steps or cfg["defaults"]["num_inference_steps"]
    g = args.guidance if args.guidance is not None else cfg["defaults"]["guidance_scale"]
    phi = default_guidance_rescale(cfg)
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.out, exist_ok=True)
    index = []
    for key, prompt, n in PROMPTS:
        vids = np.concatenate([to_uint8(sample(model, cfg, vocab, [prompt], num_frames=n, steps=steps, guidance=g, seed=s, guidance_rescale=phi)) for s in seeds])
        sheet, cols = contact_sheet(vids, label="%s  (%d frames, seeds %s)" % (prompt, n, args.seeds))
        fname = "%s.png" % key
        sheet.save(os.path.join(args.out, fname), optimize=True)
        preds = [judge.judge_frames(v.astype(np.float32) / 255.0)["pred"] for v in vids]
        index.append({"file": fname, "prompt": prompt, "frames": n, "columns_frame_index": cols, "seeds": seeds, "steps": steps, "guidance": g, "guidance_rescale": phi, "judge": preds})
        print(fname, preds, flush=True)
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    write_readme(args.out, index, args.checkpoint)


def write_readme(out, index, checkpoint):
    lines = [
        "# cogvideox-mini samples",
        "",
        "Contact sheets written by `python3 -m models.package.samples` (PyTorch, the service's DDIM + CFG loop with the",
        "manifest defaults: %d steps, guidance %.1f, guidance rescale %.1f). Each sheet: one row per seed, columns"
        % (index[0]["steps"], index[0]["guidance"], index[0]["guidance_rescale"]),
        "are frames spread evenly over the clip (first to last), native 32x32 frames scaled up bilinearly.",
        "`index.json` lists the frame indices of the columns and what the judge (`models/lib/judge.py`) sees in each row.",
        "",
        "| file | prompt | frames | seeds | judge (per seed) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for it in index:
        preds = "; ".join(
            " ".join(str(p.get(k)) for k in ("scene", "color", "shape", "direction", "background") if p.get(k) is not None)
            for p in it["judge"]
        )
        lines.append("| [%s](%s) | %s | %d | %s | %s |" % (it["file"], it["file"], it["prompt"], it["frames"], ",".join(map(str, it["seeds"])), preds))
    lines += ["", "Regenerate:", "", "```", "/usr/bin/python3 -m models.package.samples --checkpoint <run>/best.pt --out models/samples", "```", ""]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
