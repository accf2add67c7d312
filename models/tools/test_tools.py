"""Tests of the offline tooling: clip world, judge, tokenizer, noise schedule and training losses.

    /usr/bin/python3 -m unittest discover -s models/tools -p 'test_*.py' -v    (from the repository root)
    /usr/bin/python3 models/tools/test_tools.py                               (from anywhere)

The trained model is only as good as these pieces: a held-out triple leaking into
training makes the evaluation measure memory instead of generalisation, a wrong CSS
value or a judge that misreads true renders makes every score meaningless, and a
schedule or noise law that differs from the sampler's trains a model the service
cannot sample. Everything here is seeded and small (one torch thread, no training,
no files from ``~/.cache``), so the suite runs in seconds beside a training job.
"""

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy and torch load their thread pools

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "bench", "eval"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import dit_train  # noqa: E402  (training only runs under its main())
import judge  # noqa: E402
import sampling  # noqa: E402
import tokenizer_build as tok  # noqa: E402
import world  # noqa: E402
from architecture import VaeDecoder  # noqa: E402
from common import clips_to_tensor  # noqa: E402
from config import load_config  # noqa: E402

SHAPE_KEYS = ("shape", "color", "background", "direction")


def template_regex(tpl, flags=0):
    """A caption template as a regex whose fields match only the words ``world.caption`` puts there.

    ``{sz}`` and ``{f}`` are optional words with their space (``caption`` joins its words
    with single spaces after formatting, so an empty one leaves no double space); the
    colour, shape, background and direction fields are named groups.
    """
    alt = lambda words: "|".join(sorted((re.escape(w) for w in set(words) if w), key=len, reverse=True))  # noqa: E731
    colours = alt(world.COLOR_NAMES + ["grey"])
    fields = {
        "a": r"(?:an?)", "A": r"(?:An?)",
        "sz": r"(?:(?:%s) )?" % alt(w for ws in world.SIZE_WORDS.values() for w in ws),
        "f": r"(?:%s)?" % alt(world.FILLER_UNKNOWN),
        "c": r"(?P<c>%s)" % colours, "b": r"(?P<b>%s)" % colours,
        "s": r"(?P<s>%s)" % alt(w for ws in world.SHAPE_WORDS.values() for w in ws),
        "d": r"(?P<d>%s)" % alt(p for both in world.DIR_PHRASES.values() for ps in both for p in ps),
    }
    out = ""
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", tpl):
        out += re.escape(literal) + (fields[name] if name else "")
    return re.compile(out + r"\Z", flags)


# ------------------------------------------------------------------ world.py


class WorldTest(unittest.TestCase):
    def test_colors_are_the_css_named_colours(self):
        # judge.py names colours by the nearest of these values, and captions use the CSS names.
        css = {"red": (255, 0, 0), "orange": (255, 165, 0), "yellow": (255, 255, 0), "green": (0, 128, 0),
               "blue": (0, 0, 255), "purple": (128, 0, 128), "white": (255, 255, 255), "black": (0, 0, 0),
               "gray": (128, 128, 128)}
        self.assertEqual(world.COLORS, css)

    def test_heldout_triples_never_drawn_for_training(self):
        self.assertEqual(len(world.HELDOUT), 24)
        rng = np.random.RandomState(0)
        specs = [world.sample_shape_spec(rng, "train") for _ in range(3000)]
        specs += [s for s in (world.sample_spec(rng, "train") for _ in range(1000)) if s["kind"] == "shape"]
        triples = {(s["shape"], s["color"], s["background"]) for s in specs}
        self.assertFalse(triples & world.HELDOUT, "held-out triples in training specs")
        self.assertEqual(len(triples), len(world._all_triples()) - len(world.HELDOUT), "every other triple is drawn")
        for s in specs:
            self.assertNotEqual(s["color"], s["background"])
        held = [world.sample_shape_spec(rng, "eval") for _ in range(300)]
        self.assertTrue(all((s["shape"], s["color"], s["background"]) in world.HELDOUT for s in held))
        for s in held:
            self.assertNotEqual(s["color"], s["background"])

    def test_shape_track_constant_speed_along_the_named_direction(self):
        rng = np.random.RandomState(1)
        half = world.SIZE / 2
        for n in (9, 49, 101):
            for d in world.DIRECTIONS:
                for _ in range(5):
                    spec = world.sample_shape_spec(rng, "train", direction=d)
                    track = world.shape_track(spec, n).astype(np.float64)
                    self.assertEqual(track.shape, (n, 2))
                    axis = 0 if d in ("left", "right") else 1
                    sign = 1.0 if d in ("right", "down") else -1.0  # image y grows downwards
                    step = np.diff(track, axis=0)
                    msg = "%s, %d frames" % (d, n)
                    np.testing.assert_allclose(step[:, 1 - axis], 0.0, atol=1e-6, err_msg=msg)
                    np.testing.assert_allclose(step[:, axis], step[0, axis], atol=1e-4, err_msg=msg)  # constant speed
                    self.assertGreater(sign * step[0, axis], 0.0, msg)
                    self.assertLessEqual(abs(step[0, axis]), world.MAX_SPEED + 1e-5, msg)
                    # crosses the middle once: starts on the side opposite its motion, ends on the other
                    self.assertLess(sign * (track[0, axis] - half), 0.0, msg)
                    self.assertGreater(sign * (track[-1, axis] - half), 0.0, msg)
                    # and stays inside the frame, with the free run's margin along its path
                    r = spec["extent"] / 2
                    self.assertGreaterEqual(track[:, axis].min() - r, 1.5 - 1e-4, msg)
                    self.assertLessEqual(track[:, axis].max() + r, world.SIZE - 1.5 + 1e-4, msg)
                    self.assertTrue(0.0 <= track[0, 1 - axis] - r and track[0, 1 - axis] + r <= world.SIZE, msg)

    def test_render_shape_range_and_colours(self):
        rng = np.random.RandomState(2)
        for shape in world.SHAPES:
            spec = world.sample_shape_spec(rng, "train", shape=shape)
            clip = world.render(spec, 13)
            self.assertEqual(clip.shape, (13, world.SIZE, world.SIZE, 3))
            self.assertEqual(clip.dtype, np.float32)
            self.assertGreaterEqual(clip.min(), 0.0)
            self.assertLessEqual(clip.max(), 1.0)
            bg, fg = world.rgb01(spec["background"]), world.rgb01(spec["color"])
            for frame in clip:
                px = frame.reshape(-1, 3)
                n_bg = int(np.all(px == bg, axis=1).sum())
                n_fg = int(np.all(np.abs(px - fg) < 1e-6, axis=1).sum())
                self.assertGreater(n_bg, px.shape[0] // 2, "background is most of the frame")
                self.assertGreater(n_fg, 20, "the object's interior has its exact colour")

    def test_render_start_continues_the_same_clip(self):
        # bank.py and the judge's scene model render windows of a longer clip with start > 0
        rng = np.random.RandomState(3)
        specs = [world.sample_shape_spec(rng, "train")] + [world.sample_scene_spec(rng, sc) for sc in world.SCENES]
        for spec in specs:
            whole = world.render(spec, 17)
            window = world.render(spec, 8, start=9)
            np.testing.assert_array_equal(window, whole[9:], err_msg=str(spec))
            self.assertGreaterEqual(whole.min(), 0.0)
            self.assertLessEqual(whole.max(), 1.0)
            self.assertGreater(float(np.abs(np.diff(whole, axis=0)).mean()), 0.0, "the clip moves")

    def test_eval_set_is_fixed_and_held_out(self):
        a, b = world.eval_set(), world.eval_set()
        self.assertEqual(a, b)
        shape_items = [it for it in a if it["expect"].get("scene") == "shapes"]
        scene_items = [it for it in a if it["expect"].get("scene") != "shapes"]
        self.assertEqual(len(shape_items), 36)
        for key, values in (("shape", world.SHAPES), ("direction", world.DIRECTIONS)):
            counts = [sum(it["expect"][key] == v for it in shape_items) for v in values]
            self.assertEqual(len(set(counts)), 1, "balanced over %s: %s" % (key, counts))
        eval_res = [template_regex(t) for t in world.SHAPE_TEMPLATES_EVAL]
        train_res = [template_regex(t) for t in world.SHAPE_TEMPLATES_TRAIN]
        for it in shape_items:
            e, p = it["expect"], it["prompt"]
            self.assertIn((e["shape"], e["color"], e["background"]), world.HELDOUT)
            self.assertFalse(any(r.match(p) for r in train_res), "training template: %r" % p)
            m = next((m for m in (r.match(p) for r in eval_res) if m), None)
            self.assertIsNotNone(m, "no held-out template gives %r" % p)
            self.assertIn(m.group("d"), world.DIR_PHRASES[e["direction"]][1], p)
            self.assertIn(m.group("c"), (e["color"], "grey" if e["color"] == "gray" else e["color"]), p)
            self.assertEqual(m.group("b"), e["background"], p)
            self.assertIn(m.group("s"), world.SHAPE_WORDS[e["shape"]], p)
        # every held-out scene phrasing once, plus the seed's sunset prompt (a training caption)
        seed_prompt = world.SCENE_CAPTIONS["sunset"][0][0]
        held_scene = [t for sc in world.SCENES for t in world.SCENE_CAPTIONS[sc][1]]
        self.assertEqual(sorted(it["prompt"] for it in scene_items), sorted(held_scene + [seed_prompt]))
        for it in scene_items:
            sc = it["expect"]["scene"]
            self.assertIn(it["prompt"], world.SCENE_CAPTIONS[sc][1] + ([seed_prompt] if sc == "sunset" else []), sc)

    def test_articles_agree_with_the_next_word(self):
        rng = np.random.RandomState(9)
        texts = [world.caption(world.sample_shape_spec(rng, split), rng, split) for split in ("train", "eval") for _ in range(400)]
        texts += [it["prompt"] for it in world.eval_set()]
        seen = set()
        for text in texts:
            words = re.findall(r"[a-z]+", text.lower())
            for art, nxt in zip(words, words[1:]):
                if art in ("a", "an"):
                    self.assertEqual(art, "an" if nxt[0] in "aeiou" else "a", text)
                    seen.add(art)
        self.assertEqual(seen, {"a", "an"})

    def test_template_regex_reads_training_captions(self):
        # the eval-set test's "no training template" check relies on these patterns recognising
        # what caption() writes (training captions may be lower-cased or lose their final full stop)
        rng = np.random.RandomState(4)
        res = [template_regex(t, re.IGNORECASE) for t in world.SHAPE_TEMPLATES_TRAIN]
        for _ in range(300):
            text = world.caption(world.sample_shape_spec(rng, "train"), rng, "train")
            self.assertTrue(any(r.match(text) or r.match(text + ".") for r in res), text)


# ------------------------------------------------------------------ bench/eval/judge.py


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


# ------------------------------------------------------------------ tokenizer_build.py


class TokenizerTest(unittest.TestCase):
    vocab = tok.build_vocab()

    def ids(self, *words):
        return [self.vocab[w] for w in words]

    def test_unknown_words_map_to_unk(self):
        out = tok.encode_prompt("A serene sunset", self.vocab, 20)
        self.assertEqual(out[:4], self.ids("a") + [tok.UNK_ID] + self.ids("sunset") + [tok.EOS_ID])
        self.assertEqual(tok.UNK_ID, self.vocab["<unk>"])

    def test_fixed_length_eos_and_padding(self):
        for text in ("", "red circle", " ".join(["circle"] * 40)):
            for L in (8, 20):
                out = tok.encode_prompt(text, self.vocab, L)
                self.assertEqual(len(out), L, text)
                self.assertEqual(out.count(tok.EOS_ID), 1, text)
                n = len(tok.pre_tokenize(text))
                eos = min(n, L - 1)  # truncated to L - 1 words, then </s>, then <pad>
                self.assertEqual(out[eos], tok.EOS_ID, text)
                self.assertEqual(out[eos + 1:], [tok.PAD_ID] * (L - eos - 1), text)
        self.assertEqual(tok.encode_prompt("", self.vocab, 4), [tok.EOS_ID, tok.PAD_ID, tok.PAD_ID, tok.PAD_ID])

    def test_case_accents_and_punctuation(self):
        # lower-cased, accents stripped, every punctuation character its own token
        out = tok.encode_prompt("A RED Círcle,moving left.", self.vocab, 12)
        self.assertEqual(out[:8], self.ids("a", "red", "circle", ",", "moving", "left", ".") + [tok.EOS_ID])
        self.assertEqual(tok.pre_tokenize("box;  (up)!"), ["box", ";", "(", "up", ")", "!"])

    def test_shipped_tokenizers_match_the_vocabulary(self):
        # the service encodes with the package's tokenizer.json; training encoded with encode_prompt
        for name in ("cogvideox-tiny", "cogvideox-mini"):
            pkg = os.path.join(REPO, "models", name)
            with open(os.path.join(pkg, "tokenizer.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["model"]["vocab"], self.vocab, name)
            with open(os.path.join(pkg, "manifest.json"), encoding="utf-8") as f:
                m = json.load(f)["tokenizer"]
            self.assertEqual((m["pad_id"], m["eos_id"], m["unk_id"]), (tok.PAD_ID, tok.EOS_ID, tok.UNK_ID), name)


# ------------------------------------------------------------------ sampling.py


class SamplingTest(unittest.TestCase):
    cfg = load_config("cogvideox-mini")

    def test_diffuse_round_trip(self):
        # the sampler recovers x0 = sqrt(a) x_t - sqrt(1 - a) v from the v the model was trained on
        g = torch.Generator().manual_seed(0)
        x0 = torch.randn(5, 3, 8, 8, 8, generator=g)
        eps = torch.randn(5, 3, 8, 8, 8, generator=g)
        a = torch.tensor([0.0, 0.01, 0.5, 0.97, 1.0]).view(5, 1, 1, 1, 1)
        xt, v = sampling.diffuse(x0, eps, a)
        torch.testing.assert_close(a.sqrt() * xt - (1 - a).sqrt() * v, x0, atol=1e-5, rtol=0)
        torch.testing.assert_close((1 - a).sqrt() * xt + a.sqrt() * v, eps, atol=1e-5, rtol=0)

    def test_frame_noise_law(self):
        shape = (64, 4, 8, 8, 8)  # 32768 values per frame
        for rho in (0.0, 0.7):
            x = sampling.frame_noise(shape, rho, torch.Generator().manual_seed(1))
            self.assertEqual(tuple(x.shape), shape)
            # with rho = 0.7 the frames share most of their draw (32768 independent shared
            # values), so the variance estimate's standard error is still under 0.01
            self.assertAlmostEqual(float(x.var()), 1.0, delta=0.04)
            per_frame = x.transpose(0, 1).reshape(shape[1], -1)
            corr = torch.corrcoef(per_frame)
            off = corr[~torch.eye(shape[1], dtype=torch.bool)]
            # standard error of a correlation from 32768 pairs: (1 - rho^2) / sqrt(n) <= 0.006
            self.assertLess(float((off - rho).abs().max()), 0.03, "rho %s: %s" % (rho, corr))
        a = sampling.frame_noise(shape, 0.7, torch.Generator().manual_seed(2))
        b = sampling.frame_noise(shape, 0.7, torch.Generator().manual_seed(2))
        self.assertTrue(torch.equal(a, b), "a seeded generator gives the same noise (the service's seeds)")

    def test_train_schedule_zero_terminal_snr(self):
        ac = sampling.train_schedule(self.cfg)
        self.assertEqual(len(ac), self.cfg["scheduler"]["num_train_timesteps"])
        self.assertLess(abs(ac[-1]), 1e-12)
        self.assertTrue(np.all(np.diff(ac) < 0), "strictly decreasing")
        self.assertTrue(0.99 < ac[0] < 1.0)

    def test_train_schedule_is_the_services(self):
        # the coordinator's sampler tests check the TypeScript scheduler against this fixture
        with open(os.path.join(REPO, "coordinator", "test", "fixtures", "cogvideox-ddim-reference.json"), encoding="utf-8") as f:
            ref = json.load(f)
        sched = {k: v for k, v in self.cfg["scheduler"].items() if k in ref["config"]}
        self.assertEqual(sched, ref["config"])
        np.testing.assert_allclose(sampling.train_schedule(self.cfg), ref["alphas_cumprod_all"], rtol=1e-12, atol=1e-15)

    def test_finish_from_the_top_is_sampling(self):
        # decoder_tune's pairs come from finish(); from t0 >= 999 (zero terminal SNR: pure noise)
        # it must be the service's sampler itself, and below the last timestep it leaves x0 alone
        from architecture import PackageModel
        from tokenizer_build import build_vocab

        torch.manual_seed(0)
        vocab = build_vocab()
        model = PackageModel(self.cfg, len(vocab)).eval()
        for p in model.parameters():  # a random model whose output depends on its input and text
            p.data.normal_(0, 0.05)
        prompts = ["a red square moving left on a blue background", "snow falling at night"]
        want = sampling.sample(model, self.cfg, vocab, prompts, num_frames=9, steps=4, guidance=5.0, seed=3, decode=False)
        x0 = torch.randn(want.shape)
        got = sampling.finish(model, self.cfg, vocab, prompts, x0, 999, steps=4, guidance=5.0, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
        self.assertFalse(torch.allclose(got, x0))
        self.assertTrue(torch.equal(sampling.finish(model, self.cfg, vocab, prompts, x0, 100, steps=4), x0), "no timestep at or below t0")


# ------------------------------------------------------------------ dit_train.py losses


class TrainingLossTest(unittest.TestCase):
    def test_bank_draws_weighted_shapes(self):
        import tempfile

        rng = np.random.RandomState(3)
        specs = [world.sample_shape_spec(rng, "train", shape=world.SHAPES[i % 3]) for i in range(300)] + [world.sample_scene_spec(rng) for _ in range(100)]
        lat = torch.arange(len(specs), dtype=torch.float16).view(-1, 1, 1, 1, 1).expand(-1, 4, 1, 2, 2).contiguous()
        with tempfile.TemporaryDirectory() as d:
            torch.save({"by_f": {4: {"specs": specs, "lat": lat}}}, os.path.join(d, "bank_000.pt"))
            bank = dit_train.Bank(d)
        draw = np.random.RandomState(0)
        for weights, want in ((None, 100 / 400), ({"square": 4.0}, 400 / 700)):
            x, got = bank.window(draw, 4000, 4, weights)
            self.assertEqual([int(v) for v in x[:, 0, 0, 0, 0]], [specs.index(sp) for sp in got], "latents and specs stay paired")
            share = np.mean([sp.get("shape") == "square" for sp in got])
            self.assertAlmostEqual(share, want, delta=0.03, msg="square share with %s" % weights)
            self.assertGreater(np.mean([sp["kind"] == "scene" for sp in got]), 0.1, "scenes are still drawn")

    def test_object_weight_marks_the_object(self):
        rng = np.random.RandomState(7)
        specs = [world.sample_shape_spec(rng, "train", shape=s) for s in world.SHAPES]
        clips = [world.render(sp, 5) for sp in specs]
        x0 = clips_to_tensor(clips)  # [B, T, 3, H, W]: pixels stand in for latents, same layout
        self.assertTrue(torch.equal(dit_train.object_weight(x0, 0.0), torch.ones(1, 1, 1, 1, 1)))
        w = dit_train.object_weight(x0, 8.0)
        self.assertEqual(tuple(w.shape), (3, 5, 1, world.SIZE, world.SIZE))
        self.assertGreaterEqual(float(w.min()), 1.0)
        self.assertAlmostEqual(float(w.max()), 9.0, places=4)
        for i, (sp, clip) in enumerate(zip(specs, clips)):
            on_bg = np.all(clip == world.rgb01(sp["background"]), axis=-1)  # [T, H, W]
            on_obj = np.all(np.abs(clip - world.rgb01(sp["color"])) < 1e-6, axis=-1)
            wi = w[i, :, 0].numpy()
            np.testing.assert_allclose(wi[on_bg], 1.0, atol=1e-6)
            np.testing.assert_allclose(wi[on_obj], 9.0, atol=1e-4)  # the object is farthest from the median

    def _pixel_case(self):
        torch.manual_seed(0)
        cfg = load_config("cogvideox-mini")
        decoder = VaeDecoder(cfg).eval()  # random weights: the loss's selection and zero point do not need trained ones
        decoder.requires_grad_(False)
        c = cfg["latent"]["channels"]
        x0 = torch.randn(4, 3, c, 8, 8)
        specs = [{"kind": "shape"}, {"kind": "shape"}, {"kind": "scene", "scene": "snow", "seed": 1}, {"kind": "shape"}]
        t = torch.tensor([10, 399, 10, 400])
        return decoder, x0, t, specs

    def test_pixel_loss(self):
        decoder, x0, t, specs = self._pixel_case()
        kw = dict(scale=0.36, t_max=400, clips=4, frames=2, strength=8.0)

        def loss(pred, **over):
            args = dict(kw, **over)
            return dit_train.pixel_loss(decoder, x0, pred, t, specs, args["scale"], args["t_max"], args["clips"], args["frames"], args["strength"])

        def bumped(row, frame=slice(None)):
            p = x0.clone()
            p[row, frame] += 0.5
            return p

        self.assertEqual(float(loss(x0.clone())), 0.0)
        self.assertGreater(float(loss(bumped(0))), 0.0)
        self.assertGreater(float(loss(bumped(1))), 0.0)  # t = 399 < t_max
        self.assertEqual(float(loss(bumped(2))), 0.0, "scene clips are left out")
        self.assertEqual(float(loss(bumped(3))), 0.0, "t >= t_max is left out")
        self.assertEqual(float(loss(bumped(1), clips=1)), 0.0, "at most `clips` clips")
        self.assertEqual(float(loss(bumped(0, 2))), 0.0, "only the first `frames` latent frames")
        self.assertGreater(float(loss(bumped(0, 1))), 0.0)
        self.assertGreater(float(loss(bumped(0))), float(loss(bumped(0), strength=0.0)), "the object weight adds to the error")
        self.assertIsNone(loss(bumped(0), t_max=10), "no shape clip below t_max")
        self.assertIsNone(dit_train.pixel_loss(decoder, x0[2:3], x0[2:3], t[2:3], specs[2:3], 0.36, 400, 4, 2, 8.0), "scenes only")
        # the gradient reaches the prediction of the selected clips only, through the frozen decoder
        pred = bumped(0).requires_grad_(True)
        loss(pred).backward()
        self.assertGreater(float(pred.grad[0].abs().sum()), 0.0)
        self.assertEqual(float(pred.grad[2:].abs().sum()), 0.0)


class WorkerLifetimeTest(unittest.TestCase):
    def test_spawned_worker_stops_with_its_parent(self):
        """A worker armed by dit_train.stop_with_parent ends when the process that spawned it is killed."""
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "parent.py")  # spawn re-imports the main module: it must be a file
            with open(script, "w") as f:
                f.write(WORKER_PARENT)
            parent = subprocess.Popen([sys.executable, script, HERE], stdout=subprocess.PIPE, text=True)
            worker = None
            try:
                ready, _, _ = select.select([parent.stdout], [], [], 60)
                self.assertTrue(ready, "the worker never reported its pid")
                worker = int(parent.stdout.readline())
                self.assertTrue(running(worker))
                os.kill(parent.pid, signal.SIGKILL)
                parent.wait()
                deadline = time.time() + 20
                while running(worker) and time.time() < deadline:
                    time.sleep(0.1)
                self.assertFalse(running(worker), "the worker outlived its parent")
            finally:
                parent.kill()
                parent.wait()
                if worker and running(worker):  # a failed run leaves no worker behind either
                    os.kill(worker, signal.SIGKILL)


# Spawns one worker that arms stop_with_parent, prints its pid once armed, then sleeps.
WORKER_PARENT = """
import multiprocessing as mp, sys, time
sys.path.insert(0, sys.argv[1])

def work(q):
    import dit_train
    dit_train.stop_with_parent()
    import os
    q.put(os.getpid())
    time.sleep(120)

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ctx.Process(target=work, args=(q,)).start()
    print(q.get(), flush=True)
    time.sleep(120)
"""


def running(pid):
    """True while pid exists and is not a zombie (an orphan stays one where PID 1 does not reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    unittest.main()
