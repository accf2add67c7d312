"""Sample a cogvideox-mini checkpoint in PyTorch with the service's DDIM + CFG loop and judge the videos.

    /usr/bin/python3 -m bench.eval.evaluate_pytorch --checkpoint ~/.cache/spool-train/dit-mini/best.pt \
        [--name cogvideox-mini] [--frames 13,49,100] [--steps 30] [--guidance 5] [--seed 0] [--out result.json] [--via-mp4]

Run from the repository root. Prompts: the fixed held-out set of the clip world
(``models.lib.world.eval_set``: held-out (shape, colour, background) triples written
with held-out phrasings, held-out scene phrasings and the seed's sunset prompt). For
every frame count in ``--frames`` all prompts are sampled (long counts use the
``--long-subset`` first shape prompts plus all scene prompts), decoded by the VAE
decoder and scored by the judge (``models.lib.judge``). ``--via-mp4`` writes each
video as an H.264 MP4 scaled to the manifest output size and judges it through the
same ffmpeg path the service driver uses. Seed diversity: the first prompts are
sampled with two seeds and the mean absolute pixel difference is reported. Output:
JSON on stdout (and ``--out``).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from models.lib import judge, world
from models.lib.checkpoint import load_model
from models.lib.sampling import sample, to_uint8


def write_mp4(frames_u8, path, fps, out_w, out_h):
    t, h, w, _ = frames_u8.shape
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % (w, h), "-r", str(fps), "-i", "-",
           "-vf", "scale=%d:%d:flags=bicubic" % (out_w, out_h), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", path]
    subprocess.run(cmd, input=frames_u8.tobytes(), check=True)


def run(model, cfg, vocab, items, frames, steps, guidance, seed, via_mp4, batch=12):
    recs = []
    tmp = tempfile.mkdtemp(prefix="spool-eval-") if via_mp4 else None
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        vids = to_uint8(sample(model, cfg, vocab, [it["prompt"] for it in chunk], num_frames=frames, steps=steps, guidance=guidance, seed=seed + i))
        for j, (it, v) in enumerate(zip(chunk, vids)):
            if via_mp4:
                p = os.path.join(tmp, "v%03d.mp4" % (i + j))
                write_mp4(v, p, cfg["video"]["fps"], cfg["video"]["output_width"], cfg["video"]["output_height"])
                fr = judge.downsample(judge.read_video(p), cfg["video"]["width"])
            else:
                fr = v.astype(np.float32) / 255.0
            r = judge.judge_frames(fr, it["expect"])
            r["prompt"] = it["prompt"]
            recs.append(r)
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", default="cogvideox-mini")
    ap.add_argument("--frames", default="13,49,100")
    ap.add_argument("--steps", type=int, default=None, help="default: manifest defaults.num_inference_steps")
    ap.add_argument("--guidance", type=float, default=None, help="default: manifest defaults.guidance_scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long-subset", type=int, default=12)
    ap.add_argument("--via-mp4", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, cfg, vocab = load_model(args.name, args.checkpoint)
    steps = args.steps or cfg["defaults"]["num_inference_steps"]
    guidance = args.guidance if args.guidance is not None else cfg["defaults"]["guidance_scale"]
    items = world.eval_set()
    shape_items = [it for it in items if it["expect"].get("scene") == "shapes"]
    scene_items = [it for it in items if it["expect"].get("scene") != "shapes"]
    result = {"checkpoint": args.checkpoint, "steps": steps, "guidance": guidance, "seed": args.seed, "via_mp4": args.via_mp4, "by_frames": {}}
    t0 = time.time()
    for n in [int(v) for v in args.frames.split(",")]:
        its = items if n <= 13 else shape_items[: args.long_subset] + scene_items
        recs = run(model, cfg, vocab, its, n, steps, guidance, args.seed, args.via_mp4)
        result["by_frames"][str(n)] = {"summary": judge.summarise(recs), "videos": [{"prompt": r["prompt"], "pred": r["pred"], "correct": r["correct"], "metrics": r["metrics"]} for r in recs]}
        print("frames %d: %s" % (n, json.dumps(result["by_frames"][str(n)]["summary"])), file=sys.stderr, flush=True)
    # seed diversity on the first prompts
    div_items = shape_items[:4] + scene_items[:2]
    prompts = [it["prompt"] for it in div_items]
    a = to_uint8(sample(model, cfg, vocab, prompts, num_frames=13, steps=steps, guidance=guidance, seed=1000)).astype(np.float32)
    b = to_uint8(sample(model, cfg, vocab, prompts, num_frames=13, steps=steps, guidance=guidance, seed=2000)).astype(np.float32)
    result["seed_diversity_mean_abs_diff"] = [round(float(np.abs(x - y).mean() / 255.0), 4) for x, y in zip(a, b)]
    result["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(json.dumps({k: v["summary"] for k, v in result["by_frames"].items()}, indent=1))
    print(json.dumps({"seed_diversity_mean_abs_diff": result["seed_diversity_mean_abs_diff"], "seconds": result["seconds"]}))


if __name__ == "__main__":
    main()
