"""CogVideoX's VAE (diffusers' ``AutoencoderKLCogVideoX``) built from the published ``vae/config.json``.

``AutoencoderKLCogVideoX(config).state_dict()`` has exactly the published checkpoint's keys and
shapes (``encoder.*`` and ``decoder.*``; the published file holds both), so
``load_state_dict`` takes ``vae/diffusion_pytorch_model.safetensors`` as it is. Only the decoder
runs: spool decodes latents into frames and never encodes.

The decode is diffusers' ``_decode``: the decoder runs over a few latent frames at a time
(``frame_batch``, 2 as published; the first chunk also takes the odd frame when the count is
odd), carrying every causal conv's cache from chunk to chunk, so memory stays bounded by a
chunk whatever the video's length. Chunking is part of the model's function, not only a memory
saving: the decoder's group norms normalise over the chunk's frames, so one pass over all frames
(``frame_batch=None``) gives different frames.

Latents are in diffusers' layout here, [B, C, F, h, w], already divided by ``scaling_factor``;
``models.cogvideox.vae_export`` wraps the decoder into spool's stage graphs ([B, F, C, h, w]).
"""

import contextlib
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from models.cogvideox.vae_blocks import CausalConv3d, DownBlock3D, MidBlock3D, ResnetBlock3D, SpatialNorm3D, UpBlock3D, resample_latents

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")

# Latent frames per decoder call in diffusers (`num_latent_frames_batch_size`): the VAE was trained this way.
FRAME_BATCH = 2


def load_vae_config(name_or_path):
    """A VAE config: ``2b``, ``5b``, ``tiny`` (``configs/vae-<name>.json``) or the path of a ``vae/config.json``."""
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(CONFIG_DIR, "vae-%s.json" % name_or_path)
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    check_vae_config(cfg, path)
    return cfg


def check_vae_config(cfg, where="VAE config"):
    """Raise ValueError when the config is not a CogVideoX VAE this module builds exactly."""

    def need(ok, what):
        if not ok:
            raise ValueError("%s: %s" % (where, what))

    need(cfg.get("_class_name", "AutoencoderKLCogVideoX") == "AutoencoderKLCogVideoX", "_class_name must be AutoencoderKLCogVideoX")
    n = len(cfg["block_out_channels"])
    need(list(cfg["down_block_types"]) == ["CogVideoXDownBlock3D"] * n, "down_block_types must be CogVideoXDownBlock3D per block")
    need(list(cfg["up_block_types"]) == ["CogVideoXUpBlock3D"] * n, "up_block_types must be CogVideoXUpBlock3D per block")
    need(cfg.get("act_fn", "silu") == "silu", "act_fn must be silu")
    groups = cfg["norm_num_groups"]
    need(all(c % groups == 0 for c in cfg["block_out_channels"]), "norm_num_groups must divide every block_out_channels")
    tc = cfg["temporal_compression_ratio"]
    need(tc >= 1 and 2 ** int(math.log2(tc)) == tc and int(math.log2(tc)) < n, "temporal_compression_ratio must be a power of two below 2^blocks")
    need(not cfg.get("use_quant_conv") and not cfg.get("use_post_quant_conv"), "quant_conv / post_quant_conv are not used by CogVideoX")
    need(cfg["scaling_factor"] > 0, "scaling_factor must be positive")


def spatial_compression(cfg):
    return 2 ** (len(cfg["block_out_channels"]) - 1)


class _OnMeta(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if "device" in kwargs:
            kwargs["device"] = torch.device("meta")
        return func(*args, **kwargs)


@contextlib.contextmanager
def on_meta():
    """Build modules with meta tensors (shapes, no storage): the full-size VAE's keys and sizes, no weights."""
    with _OnMeta():
        yield


class Encoder3D(nn.Module):
    """CogVideoXEncoder3D's parameters, so the published checkpoint loads whole (no forward: spool never encodes)."""

    def __init__(self, cfg):
        super().__init__()
        ch = cfg["block_out_channels"]
        groups, eps, layers = cfg["norm_num_groups"], cfg["norm_eps"], cfg["layers_per_block"]
        level = int(math.log2(cfg["temporal_compression_ratio"]))
        self.conv_in = CausalConv3d(cfg["in_channels"], ch[0], 3)
        self.down_blocks = nn.ModuleList(
            DownBlock3D(ch[max(i - 1, 0)], ch[i], layers, groups, eps, add_downsample=i < len(ch) - 1, compress_time=i < level)
            for i in range(len(ch))
        )
        self.mid_block = MidBlock3D(ch[-1], groups, eps)
        self.norm_out = nn.GroupNorm(groups, ch[-1], eps=1e-6)
        self.conv_out = CausalConv3d(ch[-1], 2 * cfg["latent_channels"], 3)


class Decoder3D(nn.Module):
    """CogVideoXDecoder3D: latents [B, C, n, h, w] -> frames [B, 3, T, H, W] (T = 4(n-1)+1 for odd n, 4n for
    even n), with the conv cache of the previous chunk (``cache`` None for a video's first chunk).

    ``cache_keys`` lists the causal convs that keep a cache, in the order they run; ``forward`` returns
    the frames and a dict of their new caches, each [B, C_in, 2, h_l, w_l] at the conv's resolution.
    """

    def __init__(self, cfg):
        super().__init__()
        ch = list(reversed(cfg["block_out_channels"]))
        zc = cfg["latent_channels"]
        groups, eps, layers = cfg["norm_num_groups"], cfg["norm_eps"], cfg["layers_per_block"]
        level = int(math.log2(cfg["temporal_compression_ratio"]))
        self.conv_in = CausalConv3d(zc, ch[0], 3)
        self.mid_block = MidBlock3D(ch[0], groups, eps, spatial_norm_dim=zc)
        self.up_blocks = nn.ModuleList(
            UpBlock3D(ch[max(i - 1, 0)], ch[i], layers + 1, groups, eps, zc, add_upsample=i < len(ch) - 1, compress_time=i < level)
            for i in range(len(ch))
        )
        self.norm_out = SpatialNorm3D(ch[-1], zc, groups)
        self.conv_out = CausalConv3d(ch[-1], cfg["out_channels"], 3)
        self.cache_keys = []
        for name, module in self.named_modules():
            if isinstance(module, CausalConv3d) and module.time_pad:
                module.cache_key = name
                self.cache_keys.append(name)

    def forward(self, z, cache=None):
        new_cache = {}
        x = self.conv_in(z, cache, new_cache)
        x = self.mid_block(x, z, cache, new_cache)
        t = s = 1  # how much longer and larger than the latents the feature map is
        for block in self.up_blocks:
            x = block(x, resample_latents(z, t, s), cache, new_cache)
            if block.upsamplers is not None:
                s *= 2
                t *= 2 if block.upsamplers[0].compress_time else 1
        x = F.silu(self.norm_out(x, resample_latents(z, t, s)))
        x = self.conv_out(x, cache, new_cache)
        return x, new_cache


def chunk_bounds(num_frames, frame_batch=FRAME_BATCH):
    """[(start, end)] of the latent frames each decoder call takes, as diffusers' ``_decode``: chunks of
    ``frame_batch``, the first one also taking the ``num_frames % frame_batch`` left over (13 -> 3, 2, 2, 2, 2, 2)."""
    if num_frames < 1 or frame_batch < 1:
        raise ValueError("need at least one latent frame and a frame batch of at least 1")
    extra = num_frames % frame_batch
    count = max(num_frames // frame_batch, 1)
    return [(0 if i == 0 else frame_batch * i + extra, min(frame_batch * (i + 1) + extra, num_frames)) for i in range(count)]


class AutoencoderKLCogVideoX(nn.Module):
    """The published VAE: ``encoder`` (parameters only) and ``decoder``; ``decode`` as diffusers' ``_decode``."""

    def __init__(self, cfg):
        super().__init__()
        check_vae_config(cfg)
        self.config = dict(cfg)
        self.encoder = Encoder3D(cfg)
        self.decoder = Decoder3D(cfg)
        self.scaling_factor = cfg["scaling_factor"]
        self.spatial_compression_ratio = spatial_compression(cfg)
        self.temporal_compression_ratio = cfg["temporal_compression_ratio"]

    def decode(self, z, frame_batch=FRAME_BATCH):
        """z [B, C, F, h, w] (already divided by ``scaling_factor``) -> frames [B, 3, T, H, W], nominally in
        [-1, 1] (not clamped). ``frame_batch`` latent frames per decoder call as published; None for one pass."""
        if frame_batch is None:
            return self.decoder(z)[0]
        cache = None
        frames = []
        for start, end in chunk_bounds(z.shape[2], frame_batch):
            x, cache = self.decoder(z[:, :, start:end], cache)
            frames.append(x)
        return torch.cat(frames, dim=2)


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "AutoencoderKLCogVideoX",
    "Decoder3D",
    "Encoder3D",
    "FRAME_BATCH",
    "ResnetBlock3D",
    "chunk_bounds",
    "check_vae_config",
    "load_vae_config",
    "on_meta",
    "parameter_count",
    "spatial_compression",
]
