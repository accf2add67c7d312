"""The clip world: CSS colours, the held-out split, constant-speed paths, renders, captions."""

import re
import unittest

import numpy as np

from models.lib import world


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


class WorldTest(unittest.TestCase):
    def test_colors_are_the_css_named_colours(self):
        # the judge names colours by the nearest of these values, and captions use the CSS names.
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
        # the latent bank and the judge's scene model render windows of a longer clip with start > 0
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
