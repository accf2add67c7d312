"""The CogVideoX DDIM noise schedule and sampler step in float64 numpy, and the reference fixture built from them.

``build_reference`` makes the coordinator's fixture; write it with (from the repository root)

    /usr/bin/python3 -m models.package.scheduler_reference \
        [--out coordinator/test/fixtures/cogvideox-ddim-reference.json] [--seed 0]

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

Everything here is float64, like diffusers' tables for ``scaled_linear``
(the step arithmetic there runs in the sample's dtype, usually float32/bf16).
"""

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

