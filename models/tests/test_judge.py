"""The judge on true renders of the clip world, its summary, reversed motion, and its command line on MP4 files."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from models.lib import judge, world
from models.tests import REPO

SHAPE_KEYS = ("shape", "color", "background", "direction")


class JudgeTest(unittest.TestCase):
    def test_judge_reads_true_renders(self):
        """Clips rendered by world.render, 8-bit quantised as sampled videos reach the judge (sampling.to_unit).

        Measured on true renders (300 shape clips per length at 9, 13 and 49 frames, 390
        scene clips per length): every key right on every clip. The thresholds leave one
        miss per key (two for shape) of slack for numeric differences across numpy versions.
        """
        rng = np.random.RandomState(5)
        hits, counts, misses = {}, {}, []

        def score(spec, clip, expect):
            r = judge.judge_frames(np.round(clip * 255.0) / 255.0, expect)
            for k, ok in r["correct"].items():
                hits[k] = hits.get(k, 0) + int(ok)
                counts[k] = counts.get(k, 0) + 1
                if not ok:
                    misses.append((k, expect, r["pred"]))

        for i in range(40):
            spec = world.sample_shape_spec(rng, "eval", shape=world.SHAPES[i % 3], direction=world.DIRECTIONS[(i // 3) % 4])
            score(spec, world.render(spec, 13 if i % 2 else 49), {k: spec[k] for k in SHAPE_KEYS})
        for sc in world.SCENES:
            for _ in range(4):
                spec = world.sample_scene_spec(rng, sc)
                score(spec, world.render(spec, 13, int(rng.randint(0, 60))), {"scene": sc})
        self.assertEqual(counts, {"scene": 52, "shape": 40, "color": 40, "background": 40, "direction": 40})
        acc = {k: hits[k] / counts[k] for k in counts}
        msg = "accuracy %s, misses %s" % (acc, misses)
        for k in ("scene", "background", "color", "direction"):
            self.assertGreaterEqual(acc[k], 0.97, msg)
        self.assertGreaterEqual(acc["shape"], 0.95, msg)

    def test_summary_splits_shape_by_expected_shape(self):
        rng = np.random.RandomState(8)
        recs = []
        for shape in world.SHAPES:
            for _ in range(2):
                spec = world.sample_shape_spec(rng, "eval", shape=shape)
                recs.append(judge.judge_frames(world.render(spec, 13), {k: spec[k] for k in SHAPE_KEYS}))
        wrong = dict(recs[0], correct=dict(recs[0]["correct"], shape=False))  # one circle judged wrongly
        scene = judge.judge_frames(world.render(world.sample_scene_spec(rng, "snow"), 13), {"scene": "snow"})
        by = judge.summarise([wrong] + recs[1:] + [scene])["shape_by_expected"]
        self.assertEqual(sorted(by), ["circle", "square", "triangle"])
        self.assertEqual({s: (v["accuracy"], v["n"]) for s, v in by.items()}, {"circle": (0.5, 2), "square": (1.0, 2), "triangle": (1.0, 2)})
        self.assertGreater(by["square"]["mean_fill"], 0.89)
        self.assertTrue(0.66 < by["circle"]["mean_fill"] < 0.89, by)
        self.assertLess(by["triangle"]["mean_fill"], 0.66)

    def test_judge_reads_reversed_motion(self):
        # the same clip played backwards moves the opposite way
        rng = np.random.RandomState(6)
        opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}
        for d in world.DIRECTIONS:
            spec = world.sample_shape_spec(rng, "train", direction=d)
            clip = world.render(spec, 13)
            self.assertEqual(judge.judge_frames(clip)["pred"]["direction"], d)
            self.assertEqual(judge.judge_frames(clip[::-1])["pred"]["direction"], opposite[d])


def write_mp4(clip, path, size=256, fps=8):
    """A rendered clip [T, H, W, 3] in [0, 1] as an H.264 MP4 scaled to ``size``, as the service delivers videos."""
    t, h, w, _ = clip.shape
    frames = np.round(clip * 255.0).astype(np.uint8)
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % (w, h), "-r", str(fps), "-i", "-",
           "-vf", "scale=%d:%d:flags=bicubic" % (size, size), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", path]
    subprocess.run(cmd, input=frames.tobytes(), check=True)


@unittest.skipUnless(shutil.which("ffmpeg") and shutil.which("ffprobe"), "the judge decodes MP4 files with ffmpeg")
class JudgeCommandTest(unittest.TestCase):
    def test_command_judges_files_like_the_library(self):
        """``python3 -m models.evaluate.judge`` as bench/src/evaluate.ts runs it: one record per file, in order."""
        rng = np.random.RandomState(11)
        shape = world.sample_shape_spec(rng, "eval", shape="triangle", direction="left")
        scene = world.sample_scene_spec(rng, "snow")
        expects = [{k: shape[k] for k in SHAPE_KEYS}, {"scene": "snow"}, {"scene": "rain", "color": "red"}]
        with tempfile.TemporaryDirectory() as d:
            files = [os.path.join(d, "shape.mp4"), os.path.join(d, "scene.mp4"), os.path.join(d, "missing.mp4")]
            write_mp4(world.render(shape, 13), files[0])
            write_mp4(world.render(scene, 13, 20), files[1])
            cmd = [sys.executable, "-m", "models.evaluate.judge", "--expect", json.dumps(expects)] + files
            out = json.loads(subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout)
            want = [judge.judge_frames(judge.downsample(judge.read_video(f)), e) for f, e in zip(files[:2], expects)]
        videos = out["videos"]
        self.assertEqual([v["file"] for v in videos], files)
        for got, ref in zip(videos, want):
            self.assertEqual((got["pred"], got["correct"]), (ref["pred"], ref["correct"]), got["file"])
        self.assertEqual(videos[0]["pred"]["background"], shape["background"])
        self.assertEqual(videos[0]["pred"]["color"], shape["color"])
        self.assertEqual(videos[1]["pred"]["scene"], "snow")
        # a file that does not decode is reported, counted wrong on what it expected, and the rest still judged
        self.assertIn("error", videos[2])
        self.assertEqual(videos[2]["correct"], {"scene": False, "color": False})
        self.assertEqual(out["summary"], judge.summarise(videos))

    def test_expect_list_must_match_the_files(self):
        cmd = [sys.executable, "-m", "models.evaluate.judge", "--expect", json.dumps([{}, {}]), "a.mp4"]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--expect list needs one entry per video", done.stderr)
