"""CogVideoX's two samplers in float64 numpy, DDIM and DPM, and the reference fixtures built from them.

``build_reference`` (DDIM) and ``build_dpm_reference`` (DPM) make the coordinator's
fixtures; write them with (from the repository root)

    /usr/bin/python3 -m models.package.scheduler_reference \
        [--out coordinator/test/fixtures/cogvideox-ddim-reference.json] \
        [--dpm-out coordinator/test/fixtures/cogvideox-dpm-reference.json] [--seed 0]

Formulas (as in diffusers' ``CogVideoXDDIMScheduler``, eta = 0, with
N = num_train_timesteps):

1. Betas, ``scaled_linear``:
       betas = linspace(sqrt(beta_start), sqrt(beta_end), N) ** 2
       alphas_cumprod = cumprod(1 - betas)
2. SNR shift (CogVideoX paper, "CogVideoX: Text-to-Video Diffusion Models with an
   Expert Transformer", ``snr_shift_scale``; SNR divided by the scale):
       alphas_cumprod = alphas_cumprod / (snr_shift_scale + (1 - snr_shift_scale) * alphas_cumprod)
3. Zero terminal SNR (``rescale_betas_zero_snr``; Lin et al., "Common Diffusion
   Noise Schedules and Sample Steps are Flawed", Algorithm 1, applied to
   alphas_cumprod as diffusers' CogVideoX scheduler does):
       s = sqrt(alphas_cumprod); s0 = s[0]; sT = s[-1]
       s = (s - sT) * s0 / (s0 - sT)
       alphas_cumprod = s ** 2            # alphas_cumprod[N-1] == 0
4. final_alpha_cumprod = 1.0 (``set_alpha_to_one``).
5. Timesteps, ``trailing`` spacing for S inference steps:
       timesteps = round(arange(N, 0, -N / S)) - 1      (int64, descending)
6. One DDIM step with ``v_prediction`` from sample x at timestep t with model output v:
       prev_t = t - N // S
       a_t    = alphas_cumprod[t]
       a_prev = alphas_cumprod[prev_t] if prev_t >= 0 else final_alpha_cumprod
       x0     = sqrt(a_t) * x - sqrt(1 - a_t) * v
       coefA  = sqrt((1 - a_prev) / (1 - a_t))
       coefB  = sqrt(a_prev) - sqrt(a_t) * coefA
       x_prev = coefA * x + coefB * x0
7. Classifier-free guidance: combined = uncond + g * (cond - uncond); with a
   guidance rescale phi > 0 (Lin et al., for zero terminal SNR models):
       combined = phi * combined * std(cond) / std(combined) + (1 - phi) * combined
   with std over all the values of one video.

The DPM sampler (diffusers' ``CogVideoXDPMScheduler``, the second-order multistep
SDE solver of DPM-Solver++ in the half log-SNR lambda = log(sqrt(a / (1 - a)));
same schedule, timesteps, prev_t and x0 as above). Step i at timestep t, with
t_back = timesteps[i - 1] for i > 0 and the previous step's x0 kept as old_x0:

8.  lambda(a) = log(sqrt(a / (1 - a)))     (-inf at a = 0, +inf at a = 1)
    h      = lambda(a_prev) - lambda(a_t)
    r      = (lambda(a_t) - lambda(a_back)) / h                    (i > 0)
    mult1  = sqrt((1 - a_prev) / (1 - a_t)) * exp(-h)
    mult2  = expm1(-2 h) * sqrt(a_prev)
    mult3  = 1 + 1 / (2 r);  mult4 = 1 / (2 r)                    (i > 0)
    mult_noise = sqrt(1 - a_prev) * sqrt(1 - exp(-2 h))
9.  First order (i = 0, or prev_t < 0):
        x_prev = mult1 * x - mult2 * x0 + mult_noise * z
    second order otherwise:
        D      = mult3 * x0 - mult4 * old_x0
        x_prev = mult1 * x - mult2 * D + mult_noise * z
    with z standard normal noise, drawn only where mult_noise > 0 (it is 0 exactly
    on the last step, where a_prev = 1). eta is not used. With zero terminal SNR the
    first step has a_t = 0: h = inf, mult1 = 0, mult2 = -sqrt(a_prev), so x_prev =
    sqrt(a_prev) x0 + sqrt(1 - a_prev) z; the second step has r = inf, D = x0.
10. Dynamic classifier-free guidance (``use_dynamic_cfg`` of diffusers' CogVideoX
    pipeline, for the 5B checkpoints), the guidance scale of the step at timestep t
    (the timestep, not the step index, exactly as the pipeline and CogVideoX's own
    sampler do; the scale then swings between 1 and 1 + g from step to step):
        g_t = 1 + g * (1 - cos(pi * ((S - t) / S) ** 5)) / 2

Everything here is float64, like diffusers' tables for ``scaled_linear``
(the step arithmetic there runs in the sample's dtype, usually float32/bf16).
"""

import math

import numpy as np

CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "snr_shift_scale": 3.0,
    "timestep_spacing": "trailing",
    "set_alpha_to_one": True,
}
ALPHA_INDICES = [0, 1, 10, 100, 500, 998, 999]
TIMESTEP_COUNTS = [1, 2, 5, 10, 50]
SAMPLE_SIZE = 8


def alphas_cumprod(cfg):
    n = cfg["num_train_timesteps"]
    betas = np.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, n, dtype=np.float64) ** 2
    ac = np.cumprod(1.0 - betas)
    k = cfg["snr_shift_scale"]
    ac = ac / (k + (1.0 - k) * ac)
    if cfg["rescale_betas_zero_snr"]:
        s = np.sqrt(ac)
        s0, sT = s[0], s[-1]
        s = (s - sT) * s0 / (s0 - sT)
        ac = s ** 2
    return ac


def final_alpha_cumprod(cfg, ac):
    return 1.0 if cfg["set_alpha_to_one"] else float(ac[0])


def timesteps(cfg, steps):
    n = cfg["num_train_timesteps"]
    return (np.round(np.arange(n, 0, -n / steps)).astype(np.int64) - 1).tolist()


def ddim_step(cfg, ac, steps, t, x, v):
    n = cfg["num_train_timesteps"]
    prev_t = t - n // steps
    a_t = float(ac[t])
    a_prev = float(ac[prev_t]) if prev_t >= 0 else final_alpha_cumprod(cfg, ac)
    x0 = np.sqrt(a_t) * x - np.sqrt(1.0 - a_t) * v
    coef_a = np.sqrt((1.0 - a_prev) / (1.0 - a_t))
    coef_b = np.sqrt(a_prev) - np.sqrt(a_t) * coef_a
    return {
        "t": int(t),
        "prev_t": int(prev_t),
        "alpha_prod_t": a_t,
        "alpha_prod_t_prev": a_prev,
        "coef_sample": float(coef_a),
        "coef_pred_original": float(coef_b),
        "sample": x.tolist(),
        "model_output": v.tolist(),
        "pred_original_sample": x0.tolist(),
        "prev_sample": (coef_a * x + coef_b * x0).tolist(),
    }


def trajectory(cfg, ac, steps, max_steps, rng):
    x = rng.standard_normal(SAMPLE_SIZE)
    out = []
    for t in timesteps(cfg, steps)[:max_steps]:
        v = rng.standard_normal(SAMPLE_SIZE)
        rec = ddim_step(cfg, ac, steps, t, x, v)
        out.append(rec)
        x = np.array(rec["prev_sample"])
    return {"num_inference_steps": steps, "steps_recorded": len(out), "steps": out}


def build_reference(seed=0):
    cfg = dict(CONFIG)
    ac = alphas_cumprod(cfg)
    rng = np.random.RandomState(seed)
    uncond = rng.standard_normal(SAMPLE_SIZE)
    cond = rng.standard_normal(SAMPLE_SIZE)
    g = 6.0
    phi = 0.7
    combined = uncond + g * (cond - uncond)
    rescaled = phi * combined * (cond.std() / combined.std()) + (1 - phi) * combined
    return {
        "description": "CogVideoX DDIM (v-prediction, zero terminal SNR, SNR shift, trailing spacing) reference "
        "values in float64, from models/lib/schedule.py (python3 -m models.package.scheduler_reference).",
        "seed": seed,
        "config": cfg,
        "final_alpha_cumprod": final_alpha_cumprod(cfg, ac),
        "alphas_cumprod": {str(i): float(ac[i]) for i in ALPHA_INDICES},
        "alphas_cumprod_all": [float(a) for a in ac],
        "timesteps": {str(s): timesteps(cfg, s) for s in TIMESTEP_COUNTS},
        "trajectories": [
            trajectory(cfg, ac, 5, 5, rng),
            trajectory(cfg, ac, 50, 5, rng),
        ],
        "guidance": {
            "guidance_scale": g,
            "uncond": uncond.tolist(),
            "cond": cond.tolist(),
            "combined": combined.tolist(),
            "guidance_rescale": phi,
            "rescaled": rescaled.tolist(),
        },
    }



# --- DPM (CogVideoXDPMScheduler) -------------------------------------------------

DPM_CONFIG = dict(CONFIG, snr_shift_scale=1.0, type="cogvideox-dpm")  # the 5B checkpoints' schedule, as a manifest scheduler
DPM_TIMESTEP_COUNTS = [1, 2, 7, 30, 50]


def half_log_snr(a):
    """lambda = log(sqrt(a / (1 - a))) in float64: -inf at a = 0, +inf at a = 1."""
    a = np.float64(a)
    with np.errstate(divide="ignore"):
        return np.log(np.sqrt(a / (np.float64(1.0) - a)))


def dpm_coefficients(cfg, ac, steps, t, t_back):
    """The scalars of one DPM step at timestep t; t_back is the timestep of the step before (None on the first)."""
    n = cfg["num_train_timesteps"]
    prev_t = t - n // steps
    one = np.float64(1.0)
    a_t = np.float64(ac[t])
    a_prev = np.float64(ac[prev_t]) if prev_t >= 0 else np.float64(final_alpha_cumprod(cfg, ac))
    a_back = np.float64(ac[t_back]) if t_back is not None else None
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        lam = half_log_snr(a_t)
        lam_next = half_log_snr(a_prev)
        h = lam_next - lam
        mult1 = np.sqrt((one - a_prev) / (one - a_t)) * np.exp(-h)
        mult2 = np.expm1(-2.0 * h) * np.sqrt(a_prev)
        mult_noise = np.sqrt(one - a_prev) * np.sqrt(one - np.exp(-2.0 * h))
        lam_back = r = mult3 = mult4 = None
        if a_back is not None:
            lam_back = half_log_snr(a_back)
            r = (lam - lam_back) / h
            mult3 = one + one / (2.0 * r)
            mult4 = one / (2.0 * r)
    order = 2 if (t_back is not None and prev_t >= 0) else 1
    # r is inf / inf = NaN on a last step that follows the first (2 steps with zero terminal SNR);
    # the last step is first order, so r, mult3 and mult4 are not used there
    used = [lam, lam_next, h, mult1, mult2, mult_noise] + ([r, mult3, mult4] if order == 2 else [])
    assert not any(np.isnan(x) for x in used), "a DPM coefficient is NaN at t=%d" % t
    return {
        "t": int(t),
        "t_back": None if t_back is None else int(t_back),
        "prev_t": int(prev_t),
        "order": order,
        "alpha_prod_t": float(a_t),
        "alpha_prod_t_prev": float(a_prev),
        "alpha_prod_t_back": None if a_back is None else float(a_back),
        "lambda": float(lam),
        "lambda_next": float(lam_next),
        "lambda_back": None if lam_back is None else float(lam_back),
        "h": float(h),
        "r": None if r is None else float(r),
        "mult1": float(mult1),
        "mult2": float(mult2),
        "mult3": None if mult3 is None else float(mult3),
        "mult4": None if mult4 is None else float(mult4),
        "mult_noise": float(mult_noise),
    }


def dpm_step(c, x, v, old_x0, z):
    """x_prev and x0 of one DPM step from the coefficients ``c``; z is the noise (None when mult_noise is 0)."""
    a_t = c["alpha_prod_t"]
    x0 = np.sqrt(a_t) * x - np.sqrt(1.0 - a_t) * v
    d = x0 if c["order"] == 1 else c["mult3"] * x0 - c["mult4"] * old_x0
    prev = c["mult1"] * x - c["mult2"] * d
    if c["mult_noise"] > 0:
        prev = prev + c["mult_noise"] * z
    return prev, x0


def dynamic_guidance_scale(g, t, steps):
    """The pipeline's ``use_dynamic_cfg`` scale at timestep t of a run of ``steps`` steps."""
    return 1.0 + g * (1.0 - math.cos(math.pi * ((steps - t) / steps) ** 5.0)) / 2.0


def _json_number(x):
    """Floats as JSON can hold them: infinities and NaN as the strings "inf", "-inf", "nan"."""
    if x is None or isinstance(x, (int, str)):
        return x
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def dpm_trajectory(name, cfg, steps, rng, guidance=None):
    """Every step of one run on SAMPLE_SIZE values with random model outputs and noise.

    ``guidance`` is None (the model output is given directly) or {"scale": g, "dynamic": bool}:
    then each step has its two branches, the step's scale and their combination.
    """
    ac = alphas_cumprod(cfg)
    ts = timesteps(cfg, steps)
    x = rng.standard_normal(SAMPLE_SIZE)
    old_x0 = None
    records = []
    for i, t in enumerate(ts):
        c = dpm_coefficients(cfg, ac, steps, t, ts[i - 1] if i > 0 else None)
        rec = {k: _json_number(v) for k, v in c.items()}
        if guidance is None:
            v = rng.standard_normal(SAMPLE_SIZE)
        else:
            uncond = rng.standard_normal(SAMPLE_SIZE)
            cond = rng.standard_normal(SAMPLE_SIZE)
            g = dynamic_guidance_scale(guidance["scale"], t, steps) if guidance["dynamic"] else guidance["scale"]
            v = uncond + g * (cond - uncond)
            rec.update({"uncond": uncond.tolist(), "cond": cond.tolist(), "guidance_scale": g})
        z = rng.standard_normal(SAMPLE_SIZE) if c["mult_noise"] > 0 else None
        prev, x0 = dpm_step(c, x, v, old_x0, z)
        rec.update({
            "sample": x.tolist(),
            "model_output": v.tolist(),
            "noise": None if z is None else z.tolist(),
            "pred_original_sample": x0.tolist(),
            "prev_sample": prev.tolist(),
        })
        records.append(rec)
        x, old_x0 = prev, x0
    return {"name": name, "config": cfg, "num_inference_steps": steps, "guidance": guidance, "steps": records}


def build_dpm_reference(seed=0):
    cfg = dict(DPM_CONFIG)
    ac = alphas_cumprod(cfg)
    finite = dict(DPM_CONFIG, snr_shift_scale=3.0, rescale_betas_zero_snr=False, set_alpha_to_one=False)
    rng = np.random.RandomState(seed)
    guide_steps = 50
    guide_ts = timesteps(cfg, guide_steps)
    return {
        "description": "CogVideoX DPM (CogVideoXDPMScheduler: second-order multistep DPM-Solver++ SDE, v-prediction, "
        "zero terminal SNR, SNR shift, trailing spacing) and the pipeline's dynamic guidance scale, reference values in "
        "float64, from models/lib/schedule.py (python3 -m models.package.scheduler_reference).",
        "seed": seed,
        "config": cfg,
        "final_alpha_cumprod": final_alpha_cumprod(cfg, ac),
        "alphas_cumprod": {str(i): float(ac[i]) for i in ALPHA_INDICES},
        "alphas_cumprod_all": [float(a) for a in ac],
        "timesteps": {str(s): timesteps(cfg, s) for s in DPM_TIMESTEP_COUNTS},
        "dynamic_guidance": {
            "guidance_scale": 6.0,
            "num_inference_steps": guide_steps,
            "timesteps": guide_ts,
            "scales": [dynamic_guidance_scale(6.0, t, guide_steps) for t in guide_ts],
        },
        "trajectories": [
            dpm_trajectory("5 steps", cfg, 5, rng),
            dpm_trajectory("1 step", cfg, 1, rng),
            dpm_trajectory("2 steps", cfg, 2, rng),
            dpm_trajectory("30 steps, guidance 6", cfg, 30, rng, {"scale": 6.0, "dynamic": False}),
            dpm_trajectory("50 steps, dynamic guidance 6", cfg, 50, rng, {"scale": 6.0, "dynamic": True}),
            dpm_trajectory("8 steps, no zero terminal SNR, final alpha from step 0", finite, 8, rng),
        ],
    }
