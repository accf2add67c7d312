"""The sampler reference fixtures of the coordinator's tests are what ``models.package.scheduler_reference`` writes, and the DPM formulas keep an exact model on the forward process."""

import os
import tempfile
import unittest

import numpy as np

from models.lib import schedule
from models.package.scheduler_reference import DEFAULT_DPM_OUT, DEFAULT_OUT, write_dpm_reference, write_reference
from models.tests import REPO


class ScheduleReferenceTest(unittest.TestCase):
    def test_committed_fixture_regenerates_byte_for_byte(self):
        self.assertEqual(DEFAULT_OUT, os.path.join(REPO, "coordinator", "test", "fixtures", "cogvideox-ddim-reference.json"))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "reference.json")
            write_reference(out, seed=0)
            with open(out, "rb") as f:
                made = f.read()
        with open(DEFAULT_OUT, "rb") as f:
            self.assertEqual(made, f.read(), "regenerate it with python3 -m models.package.scheduler_reference")


class DpmReferenceTest(unittest.TestCase):
    def test_committed_fixture_regenerates_byte_for_byte(self):
        self.assertEqual(DEFAULT_DPM_OUT, os.path.join(REPO, "coordinator", "test", "fixtures", "cogvideox-dpm-reference.json"))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "reference.json")
            write_dpm_reference(out, seed=0)
            with open(out, "rb") as f:
                made = f.read()
        with open(DEFAULT_DPM_OUT, "rb") as f:
            self.assertEqual(made, f.read(), "regenerate it with python3 -m models.package.scheduler_reference")

    def test_an_exact_model_keeps_every_step_on_the_forward_process(self):
        # If the model predicts the true x0 at every step, each DPM step must land on
        # x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps' with eps' = e^-h eps + sqrt(1 - e^-2h) z
        # (unit variance), and the last step on x0 itself: DPM-Solver++'s SDE update, checked
        # from the forward process rather than from the formulas' own text. (Step counts that
        # divide N: otherwise prev_t = t - N // S is not the next timestep, as in diffusers.)
        for cfg, steps in ((schedule.DPM_CONFIG, 10), (schedule.DPM_CONFIG, 50), (dict(schedule.CONFIG, rescale_betas_zero_snr=False), 8)):
            rng = np.random.RandomState(3)
            ac = schedule.alphas_cumprod(cfg)
            ts = schedule.timesteps(cfg, steps)
            x0 = rng.standard_normal(16)
            eps = rng.standard_normal(16)
            x = np.sqrt(ac[ts[0]]) * x0 + np.sqrt(1 - ac[ts[0]]) * eps
            old = None
            for i, t in enumerate(ts):
                c = schedule.dpm_coefficients(cfg, ac, steps, t, ts[i - 1] if i else None)
                a = c["alpha_prod_t"]
                v = np.sqrt(a) * eps - np.sqrt(1 - a) * x0
                z = rng.standard_normal(16) if c["mult_noise"] > 0 else None
                x, old = schedule.dpm_step(c, x, v, old, z)
                np.testing.assert_allclose(old, x0, atol=1e-12)
                a_prev = c["alpha_prod_t_prev"]
                if z is None:
                    self.assertEqual(a_prev, 1.0)
                    np.testing.assert_allclose(x, x0, atol=1e-12)
                    break
                decay = np.exp(-c["h"])
                eps = decay * eps + np.sqrt(1 - decay**2) * z
                np.testing.assert_allclose(x, np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps, atol=1e-12, err_msg="t=%d" % t)

    def test_dynamic_guidance_is_the_pipelines(self):
        # the scales diffusers' CogVideoX pipeline gives for guidance 4 over 50 steps, as
        # printed in huggingface/diffusers#13172 (the timestep, not the step index, drives them)
        printed = [1.8610, 2.0290, 4.9829, 4.6136, 2.1921, 3.1813, 1.0251, 3.1136, 1.4120]
        ts = schedule.timesteps(schedule.DPM_CONFIG, 50)
        got = [schedule.dynamic_guidance_scale(4.0, t, 50) for t in ts[: len(printed)]]
        np.testing.assert_allclose(got, printed, atol=5e-5)
        for t in ts:
            self.assertTrue(1.0 <= schedule.dynamic_guidance_scale(6.0, t, 50) <= 7.0)
