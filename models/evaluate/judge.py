"""Judge MP4 files of the cogvideox-mini world: scene, background, colour, shape, direction (numpy and ffmpeg only).

    /usr/bin/python3 -m models.evaluate.judge --expect '{"shape":"circle","color":"red","background":"blue","direction":"left"}' a.mp4 [b.mp4 ...]
    /usr/bin/python3 -m models.evaluate.judge --expect '[{"scene":"sunset"}, {"scene":"snow"}]' s1.mp4 s2.mp4
    /usr/bin/python3 -m models.evaluate.judge a.mp4                      # predictions only

``--expect`` is one JSON object applied to every video or a JSON list with one
object per video (keys in ``models.lib.judge``). Each video is decoded with ffmpeg
and box-downsampled to the native size (``--native``, 32). Output (stdout, JSON):
per video the predictions, per-key correctness and coherence metrics; a summary
with accuracy per key over the videos that expect it. A video that cannot be
decoded is reported with its ``error`` and counted wrong on every expected key.
"""

import argparse
import json
import sys

from models.lib.judge import KEYS, downsample, judge_frames, read_video, summarise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--expect", help="JSON object (all videos) or list (one per video)")
    ap.add_argument("--native", type=int, default=32)
    args = ap.parse_args(argv)
    exp = json.loads(args.expect) if args.expect else {}
    if isinstance(exp, list):
        if len(exp) != len(args.videos):
            ap.error("--expect list needs one entry per video")
    else:
        exp = [exp] * len(args.videos)
    records = []
    for path, e in zip(args.videos, exp):
        try:
            rec = judge_frames(downsample(read_video(path), args.native), e)
        except Exception as err:  # noqa: BLE001 - report per video, keep going
            rec = {"pred": {}, "expect": e, "correct": {k: False for k in e if k in KEYS}, "metrics": {}, "error": str(err)}
        rec["file"] = path
        records.append(rec)
    json.dump({"videos": records, "summary": summarise(records)}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
