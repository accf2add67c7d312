"""The sampler's noise schedule, noise law and DDIM loop against the service's reference."""

import json
import os
import unittest

import numpy as np
import torch

from models.lib import sampling
from models.lib.architecture import PackageModel
from models.lib.config import load_config
from models.lib.tokenizer import build_vocab
from models.tests import REPO

torch.set_num_threads(1)


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
