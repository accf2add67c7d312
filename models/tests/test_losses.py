"""The denoiser's training pieces: the latent bank's weighted draws, the object weight, the pixel loss."""

import os
import tempfile
import unittest

import numpy as np
import torch

from models.lib import losses, world
from models.lib.architecture import VaeDecoder
from models.lib.bank import Bank
from models.lib.config import load_config
from models.lib.training import clips_to_tensor

torch.set_num_threads(1)


class TrainingLossTest(unittest.TestCase):
    def test_bank_draws_weighted_shapes(self):
        rng = np.random.RandomState(3)
        specs = [world.sample_shape_spec(rng, "train", shape=world.SHAPES[i % 3]) for i in range(300)] + [world.sample_scene_spec(rng) for _ in range(100)]
        lat = torch.arange(len(specs), dtype=torch.float16).view(-1, 1, 1, 1, 1).expand(-1, 4, 1, 2, 2).contiguous()
        with tempfile.TemporaryDirectory() as d:
            torch.save({"by_f": {4: {"specs": specs, "lat": lat}}}, os.path.join(d, "bank_000.pt"))
            bank = Bank(d)
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
        self.assertTrue(torch.equal(losses.object_weight(x0, 0.0), torch.ones(1, 1, 1, 1, 1)))
        w = losses.object_weight(x0, 8.0)
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
            return losses.pixel_loss(decoder, x0, pred, t, specs, args["scale"], args["t_max"], args["clips"], args["frames"], args["strength"])

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
        self.assertIsNone(losses.pixel_loss(decoder, x0[2:3], x0[2:3], t[2:3], specs[2:3], 0.36, 400, 4, 2, 8.0), "scenes only")
        # the gradient reaches the prediction of the selected clips only, through the frozen decoder
        pred = bumped(0).requires_grad_(True)
        loss(pred).backward()
        self.assertGreater(float(pred.grad[0].abs().sum()), 0.0)
        self.assertEqual(float(pred.grad[2:].abs().sum()), 0.0)
