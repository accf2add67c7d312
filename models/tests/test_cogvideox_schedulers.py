"""The published CogVideoX scheduler configs map to the manifest's scheduler; what spool cannot run is refused by key."""

import json
import os
import unittest

from models.cogvideox.schedulers import SchedulerConfigError, guidance_defaults, scheduler_from_config
from models.tests import REPO

CONFIGS = os.path.join(REPO, "models", "cogvideox", "configs")


def published(name):
    with open(os.path.join(CONFIGS, "scheduler-%s.json" % name), encoding="utf-8") as f:
        return json.load(f)


def manifest_scheduler(name):
    """The scheduler of a shipped package's config (what the coordinator already serves)."""
    with open(os.path.join(REPO, "models", "configs", "%s.json" % name), encoding="utf-8") as f:
        return json.load(f)["scheduler"]


COMMON = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "timestep_spacing": "trailing",
    "set_alpha_to_one": True,
}


class SchedulerFromConfigTest(unittest.TestCase):
    def test_cogvideox_2b(self):
        s = scheduler_from_config(published("2b"))
        self.assertEqual(s, dict(COMMON, type="cogvideox-ddim", snr_shift_scale=3.0))
        # exactly the schedule the shipped packages run
        self.assertEqual(s, manifest_scheduler("cogvideox-tiny"))
        self.assertEqual(guidance_defaults(s), {"use_dynamic_cfg": False})

    def test_cogvideox_5b(self):
        cfg = published("5b")
        self.assertEqual(cfg["_class_name"], "CogVideoXDDIMScheduler", "the published file names the DDIM class")
        self.assertEqual(scheduler_from_config(cfg), dict(COMMON, type="cogvideox-ddim", snr_shift_scale=1.0))
        # the authors' recipe: the same config in CogVideoXDPMScheduler, with dynamic guidance
        s = scheduler_from_config(cfg, sampler="cogvideox-dpm")
        self.assertEqual(s, dict(COMMON, type="cogvideox-dpm", snr_shift_scale=1.0))
        self.assertEqual(guidance_defaults(s), {"use_dynamic_cfg": True})

    def test_the_dpm_class_maps_to_the_dpm_sampler(self):
        cfg = dict(published("5b"), _class_name="CogVideoXDPMScheduler")
        self.assertEqual(scheduler_from_config(cfg)["type"], "cogvideox-dpm")
        self.assertEqual(scheduler_from_config(cfg, sampler="cogvideox-ddim")["type"], "cogvideox-ddim")

    def test_the_result_is_plain_json_of_the_manifest_types(self):
        s = scheduler_from_config(published("2b"))
        self.assertEqual(json.loads(json.dumps(s)), s)
        self.assertIsInstance(s["num_train_timesteps"], int)
        self.assertIsInstance(s["beta_start"], float)

    def test_unused_keys_do_not_matter(self):
        # neither class clips x0 or reads steps_offset with trailing spacing
        base = scheduler_from_config(published("2b"))
        for key, value in (("clip_sample", True), ("clip_sample_range", 3.0), ("sample_max_value", 2.0), ("steps_offset", 1)):
            self.assertEqual(scheduler_from_config(dict(published("2b"), **{key: value})), base, key)

    def test_absent_keys_take_diffusers_defaults(self):
        # without prediction_type the class predicts epsilon, and spool refuses it
        cfg = published("2b")
        del cfg["prediction_type"]
        with self.assertRaisesRegex(SchedulerConfigError, r"prediction_type is 'epsilon'"):
            scheduler_from_config(cfg)
        cfg = published("2b")
        del cfg["snr_shift_scale"], cfg["beta_end"]
        self.assertEqual(scheduler_from_config(cfg), scheduler_from_config(published("2b")))

    def test_refuses_what_spool_cannot_run_naming_the_key(self):
        cases = [
            ({"_class_name": "DDIMScheduler"}, r"_class_name is 'DDIMScheduler'; spool runs CogVideoXDDIMScheduler and CogVideoXDPMScheduler"),
            ({"_class_name": None}, r"_class_name is None"),
            ({"prediction_type": "epsilon"}, r"prediction_type is 'epsilon'; spool runs v_prediction"),
            ({"prediction_type": "sample"}, r"prediction_type is 'sample'"),
            ({"beta_schedule": "linear"}, r"beta_schedule is 'linear'; spool runs scaled_linear only"),
            ({"beta_schedule": "squaredcos_cap_v2"}, r"beta_schedule is 'squaredcos_cap_v2'"),
            ({"trained_betas": [0.1, 0.2]}, r"trained_betas is '\[…\]'"),
            ({"timestep_spacing": "leading"}, r"timestep_spacing is 'leading'; spool runs trailing spacing only"),
            ({"timestep_spacing": "linspace"}, r"timestep_spacing is 'linspace'"),
            ({"num_train_timesteps": 1.5}, r"num_train_timesteps is 1.5"),
            ({"num_train_timesteps": True}, r"num_train_timesteps is True"),
            ({"beta_start": 0}, r"beta_start is 0"),
            ({"beta_end": 0.0001}, r"beta_end is 0.0001; it must be in \[beta_start, 1\)"),
            ({"snr_shift_scale": -1.0}, r"snr_shift_scale is -1.0"),
            ({"snr_shift_scale": "3"}, r"snr_shift_scale is '3'"),
            ({"rescale_betas_zero_snr": "yes"}, r"rescale_betas_zero_snr is 'yes'; it must be true or false"),
            ({"set_alpha_to_one": 1}, r"set_alpha_to_one is 1"),
            ({"thresholding": True}, r"thresholding not known to CogVideoXDDIMScheduler"),
            ({"use_karras_sigmas": True, "variance_type": "x"}, r"use_karras_sigmas, variance_type not known"),
        ]
        for change, message in cases:
            with self.subTest(change):
                with self.assertRaisesRegex(SchedulerConfigError, message):
                    scheduler_from_config(dict(published("2b"), **change))
        with self.assertRaisesRegex(SchedulerConfigError, r"sampler 'euler' is not one spool runs"):
            scheduler_from_config(published("5b"), sampler="euler")
        with self.assertRaisesRegex(SchedulerConfigError, r"must hold a JSON object, got list"):
            scheduler_from_config([])


if __name__ == "__main__":
    unittest.main()
