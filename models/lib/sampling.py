"""PyTorch reference of the service's sampler: CogVideoX DDIM (v-prediction) with classifier-free guidance.

Same formulas as ``models.lib.schedule`` and the TypeScript sampler:
trailing timesteps, ``x0 = sqrt(a_t) x - sqrt(1 - a_t) v``, eta = 0, guidance
``u + g (c - u)`` with the empty prompt as ``u``; latents divided by the VAE
``scaling_factor`` before decoding; frames planned as the service does
(F = ceil((n - 1) / 4) + 1 latent frames, 4(F - 1) + 1 decoded, first n kept).
"""

import math

import numpy as np
import torch

from models.lib.schedule import alphas_cumprod, final_alpha_cumprod, timesteps
from models.lib.tokenizer import encode_prompt


def plan_frames(n, tc=4):
    k = max(0, math.ceil((n - 1) / tc))
    return k + 1, tc * k + 1


def train_schedule(cfg):
    """alphas_cumprod (float64 numpy) of the training/inference schedule."""
    return alphas_cumprod(cfg["scheduler"])


def frame_noise(shape, rho, generator=None):
    """Gaussian noise [B, F, C, h, w] with correlation ``rho`` between the latent frames of a video.

    ``sqrt(rho) * shared + sqrt(1 - rho) * own``: one draw shared by all frames plus one per
    frame (the mixed noise prior of PYoCo); each element stays N(0, 1). Training noise and
    the sampler's initial latents use the same law (``scheduler.frame_noise_correlation``),
    so the frames of a video start from a common layout.
    """
    if rho <= 0:
        return torch.randn(tuple(shape), generator=generator)
    b, f = shape[0], shape[1]
    shared = torch.randn((b, 1, *shape[2:]), generator=generator)
    own = torch.randn(tuple(shape), generator=generator)
    return math.sqrt(rho) * shared.expand(b, f, *shape[2:]) + math.sqrt(1.0 - rho) * own


def diffuse(x0, eps, a):
    """The noised sample x_t and the v-prediction target at a_t = alphas_cumprod[t] (a tensor broadcastable to x0)."""
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    v = a.sqrt() * eps - (1 - a).sqrt() * x0
    return xt, v


def encode_text(model, vocab, cfg, prompts):
    L = cfg["tokenizer"]["max_tokens"]
    ids = torch.tensor([encode_prompt(p, vocab, L) for p in prompts], dtype=torch.int64)
    return model.text_encoder(ids)


@torch.no_grad()
def sample(model, cfg, vocab, prompts, num_frames=13, steps=30, guidance=5.0, seed=0, decode=True, guidance_rescale=None):
    """Generate videos: returns frames [B, n, 3, H, W] in [-1, 1] (or latents when decode=False).

    ``guidance_rescale`` None is the package's default, as in the service (see ``denoise``)."""
    sched = cfg["scheduler"]
    F, _ = plan_frames(num_frames, cfg["latent"]["temporal_compression"])
    c = cfg["latent"]["channels"]
    s = cfg["latent"]["spatial_compression"]
    h, w = cfg["video"]["height"] // s, cfg["video"]["width"] // s
    g = torch.Generator().manual_seed(seed)
    x = frame_noise((len(prompts), F, c, h, w), float(sched.get("frame_noise_correlation", 0.0)), g)
    x = denoise(model, cfg, vocab, prompts, x, timesteps(sched, steps), steps, guidance, guidance_rescale)
    if not decode:
        return x
    frames = model.vae_decoder(x / cfg["vae"]["scaling_factor"])
    return frames[:, :num_frames]


@torch.no_grad()
def finish(model, cfg, vocab, prompts, x0, t0, steps=30, guidance=5.0, generator=None, guidance_rescale=None):
    """Latents the sampler makes from known clips: x0 [B, F, C, h, w] (scaled) noised to the
    first of the ``steps`` timesteps at or below ``t0``, then denoised from there (SDEdit)."""
    sched = cfg["scheduler"]
    ts = [t for t in timesteps(sched, steps) if t <= t0]
    if not ts:
        return x0
    a = torch.tensor(float(train_schedule(cfg)[ts[0]]))
    x, _ = diffuse(x0, frame_noise(x0.shape, float(sched.get("frame_noise_correlation", 0.0)), generator), a)
    return denoise(model, cfg, vocab, prompts, x, ts, steps, guidance, guidance_rescale)


def default_guidance_rescale(cfg):
    """The package's ``defaults.guidance_rescale``, 0 when the config omits it (the service's manifest loader does the same)."""
    return cfg["defaults"].get("guidance_rescale", 0.0)


@torch.no_grad()
def denoise(model, cfg, vocab, prompts, x, ts, steps, guidance, guidance_rescale=None):
    """The DDIM + CFG loop over timesteps ``ts`` (a tail of ``timesteps(sched, steps)``) from latents x.

    ``guidance_rescale`` (phi) pulls the guided v back towards the spread of the conditional
    one, per video: phi * v * std(v_cond) / std(v) + (1 - phi) * v (the service's ``cfgCombine``);
    None takes the package's ``defaults.guidance_rescale`` (0 when absent), as the service does.
    """
    if guidance_rescale is None:
        guidance_rescale = default_guidance_rescale(cfg)
    sched = cfg["scheduler"]
    ac = train_schedule(cfg)
    final = final_alpha_cumprod(sched, ac)
    n_train = sched["num_train_timesteps"]
    b = len(prompts)
    cond = encode_text(model, vocab, cfg, prompts)
    uncond = encode_text(model, vocab, cfg, [""] * b)
    text = torch.cat([cond, uncond])
    for t in ts:
        prev_t = t - n_train // steps
        tt = torch.full((2 * b,), float(t))
        v = model.transformer(torch.cat([x, x]), text, tt)
        vc, vu = v[:b], v[b:]
        v = vu + guidance * (vc - vu)
        if guidance_rescale > 0:
            dims = tuple(range(1, v.dim()))
            v = v * (guidance_rescale * vc.std(dim=dims, keepdim=True) / v.std(dim=dims, keepdim=True) + (1 - guidance_rescale))
        a_t = float(ac[t])
        a_prev = float(ac[prev_t]) if prev_t >= 0 else final
        x0 = math.sqrt(a_t) * x - math.sqrt(1.0 - a_t) * v
        coef_a = math.sqrt((1.0 - a_prev) / (1.0 - a_t))
        coef_b = math.sqrt(a_prev) - math.sqrt(a_t) * coef_a
        x = coef_a * x + coef_b * x0
    return x


def to_uint8(frames):
    """[B, T, 3, H, W] in [-1, 1] -> numpy uint8 [B, T, H, W, 3]."""
    a = ((frames.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    return a.transpose(0, 1, 3, 4, 2)


def to_unit(frames):
    """[B, T, 3, H, W] in [-1, 1] -> numpy float [B, T, H, W, 3] in [0, 1] (8-bit quantised like a video)."""
    return to_uint8(frames).astype(np.float32) / 255.0
