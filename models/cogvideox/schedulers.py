"""A published CogVideoX ``scheduler/scheduler_config.json`` as the ``scheduler`` object of spool's manifest.

diffusers ships two CogVideoX schedulers with one set of config keys:
``CogVideoXDDIMScheduler`` (spool's ``cogvideox-ddim``) and ``CogVideoXDPMScheduler``
(``cogvideox-dpm``); ``models.lib.schedule`` has the formulas of both. The published
checkpoints both name the DDIM class in ``scheduler_config.json`` (CogVideoX-2B with
``snr_shift_scale`` 3.0, CogVideoX-5B with 1.0; copies in ``models/cogvideox/configs/``),
and CogVideoX's own inference script swaps in the DPM class for the 5B checkpoints
(``CogVideoXDPMScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing")``)
with ``use_dynamic_cfg=True``. So the sampler is the config's class unless the caller
names one: ``scheduler_from_config(config, sampler="cogvideox-dpm")`` is that swap.

A key absent from the file takes the value diffusers' constructor gives it (both
classes have the same defaults), so a file that leaves out ``prediction_type`` is an
epsilon model and is refused like one that says so.

    >>> import json
    >>> cfg = json.load(open("models/cogvideox/configs/scheduler-5b.json"))
    >>> scheduler_from_config(cfg, sampler="cogvideox-dpm")["snr_shift_scale"]
    1.0
"""

import numbers

SAMPLERS = {"CogVideoXDDIMScheduler": "cogvideox-ddim", "CogVideoXDPMScheduler": "cogvideox-dpm"}

# The constructor defaults of both diffusers classes: what a key absent from the file means.
DIFFUSERS_DEFAULTS = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "trained_betas": None,
    "clip_sample": True,
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "prediction_type": "epsilon",
    "clip_sample_range": 1.0,
    "sample_max_value": 1.0,
    "timestep_spacing": "leading",
    "rescale_betas_zero_snr": False,
    "snr_shift_scale": 3.0,
}

# Keys neither class reads with trailing spacing: neither clips x0 (whatever clip_sample
# says), and steps_offset only shifts "leading" timesteps.
UNUSED_KEYS = ("clip_sample", "clip_sample_range", "sample_max_value", "steps_offset")

# The guidance each sampler is published with: dynamic CFG goes with DPM (CogVideoX's
# inference script: "for DDIM scheduler, it should be False").
DYNAMIC_CFG = {"cogvideox-ddim": False, "cogvideox-dpm": True}


class SchedulerConfigError(ValueError):
    """A scheduler_config.json that spool cannot run; the message names the key."""


def _fail(key, value, what):
    raise SchedulerConfigError("scheduler_config.json: %s is %r; %s" % (key, value, what))


def _number(cfg, key, ok, what):
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not ok(v):
        _fail(key, v, what)
    return float(v)


def _flag(cfg, key):
    v = cfg[key]
    if not isinstance(v, bool):
        _fail(key, v, "it must be true or false")
    return v


def scheduler_from_config(config, sampler=None):
    """The manifest's ``scheduler`` object for a diffusers CogVideoX scheduler config.

    ``sampler`` ("cogvideox-ddim" or "cogvideox-dpm") overrides the sampler the config's
    ``_class_name`` names, as loading the config into the other class does in diffusers.
    Raises SchedulerConfigError, naming the key, for what spool cannot run: another
    scheduler class, a prediction other than v_prediction, betas other than
    scaled_linear (or given as trained_betas), spacing other than trailing, a key
    neither class knows.
    """
    if not isinstance(config, dict):
        raise SchedulerConfigError("scheduler_config.json must hold a JSON object, got %s" % type(config).__name__)
    cls = config.get("_class_name")
    if cls not in SAMPLERS:
        _fail("_class_name", cls, "spool runs %s" % " and ".join(sorted(SAMPLERS)))
    unknown = sorted(k for k in config if not k.startswith("_") and k not in DIFFUSERS_DEFAULTS)
    if unknown:
        raise SchedulerConfigError(
            "scheduler_config.json: %s not known to %s; spool cannot tell what %s would change"
            % (", ".join(unknown), cls, "they" if len(unknown) > 1 else "it")
        )
    if sampler is not None and sampler not in DYNAMIC_CFG:
        raise SchedulerConfigError("sampler %r is not one spool runs (%s)" % (sampler, ", ".join(sorted(DYNAMIC_CFG))))

    cfg = dict(DIFFUSERS_DEFAULTS, **{k: v for k, v in config.items() if not k.startswith("_")})
    if cfg["trained_betas"] is not None:
        _fail("trained_betas", "[…]" if isinstance(cfg["trained_betas"], list) else cfg["trained_betas"],
              "spool computes scaled_linear betas from beta_start and beta_end, it takes no table")
    if cfg["beta_schedule"] != "scaled_linear":
        _fail("beta_schedule", cfg["beta_schedule"], "spool runs scaled_linear only")
    if cfg["prediction_type"] != "v_prediction":
        _fail("prediction_type", cfg["prediction_type"], "spool runs v_prediction models only")
    if cfg["timestep_spacing"] != "trailing":
        _fail("timestep_spacing", cfg["timestep_spacing"], "spool runs trailing spacing only")
    n = cfg["num_train_timesteps"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        _fail("num_train_timesteps", n, "it must be an integer of at least 2")
    beta_start = _number(cfg, "beta_start", lambda v: 0 < v < 1, "it must be in (0, 1)")
    beta_end = _number(cfg, "beta_end", lambda v: beta_start <= v < 1, "it must be in [beta_start, 1)")
    shift = _number(cfg, "snr_shift_scale", lambda v: v > 0, "it must be positive")
    return {
        "type": sampler or SAMPLERS[cls],
        "num_train_timesteps": n,
        "beta_start": beta_start,
        "beta_end": beta_end,
        "beta_schedule": "scaled_linear",
        "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": _flag(cfg, "rescale_betas_zero_snr"),
        "snr_shift_scale": shift,
        "timestep_spacing": "trailing",
        "set_alpha_to_one": _flag(cfg, "set_alpha_to_one"),
    }


def guidance_defaults(scheduler):
    """The manifest ``defaults`` that go with a sampler: ``use_dynamic_cfg`` as CogVideoX publishes it."""
    return {"use_dynamic_cfg": DYNAMIC_CFG[scheduler["type"]]}
