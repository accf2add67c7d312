"""The package VAE's encoder and its training loss (the decoder is ``architecture.VaeDecoder``).

Causal temporal compression 4: the clip is padded in front with 3 copies of
frame 0, frames are grouped by 4 and each group becomes one latent frame, so
latent 0 encodes frame 0 alone and latent k frames 4k-3 .. 4k (CogVideoX's
layout; the decoder inverts it). ``models.train.vae`` trains both halves;
``models.train.bank`` encodes clips with the frozen encoder.
"""

import math

import torch
import torch.nn as nn

from models.lib.architecture import ResConv, VaeDecoder


class VaeEncoder(nn.Module):
    def __init__(self, cfg, width=64):
        super().__init__()
        c = cfg["latent"]["channels"]
        s = cfg["latent"]["spatial_compression"]
        self.tc = cfg["latent"]["temporal_compression"]
        layers = [nn.Conv2d(3, width // 2, 3, padding=1), nn.SiLU()]
        prev = width // 2
        for _ in range(int(round(math.log2(s)))):
            layers += [nn.Conv2d(prev, width, 4, stride=2, padding=1), nn.SiLU()]
            prev = width
        layers += [ResConv(width)]
        self.frame = nn.Sequential(*layers)
        self.width = width
        self.temporal = nn.Sequential(
            nn.Conv2d(self.tc * width, 2 * width, 3, padding=1), nn.SiLU(), ResConv(2 * width), nn.SiLU(), nn.Conv2d(2 * width, c, 3, padding=1)
        )

    def forward(self, x):
        """x [B, T, 3, H, W] with T = 4(F-1)+1 -> latents [B, F, C, h, w]."""
        b, t = x.shape[:2]
        x = torch.cat([x[:, :1].expand(-1, self.tc - 1, -1, -1, -1), x], dim=1)  # B, 4F, 3, H, W
        f = self.frame(x.reshape(-1, *x.shape[2:]))
        h, w = f.shape[-2:]
        f = f.reshape(b * (t + self.tc - 1) // self.tc, self.tc * self.width, h, w)
        z = self.temporal(f)
        return z.reshape(b, -1, *z.shape[1:])


def edge_l1(y, x, edge_weight):
    """L1 of decoded frames y against x [B, T, 3, H, W], plus L1 weighted by the target's spatial
    gradient (1 + k * |gradient|, k = ``edge_weight``): the error at edges and corners counts more."""
    l1 = (y - x).abs().mean()
    if edge_weight > 0:
        gx = (x[..., :, 1:] - x[..., :, :-1]).abs().amax(dim=2, keepdim=True)
        gy = (x[..., 1:, :] - x[..., :-1, :]).abs().amax(dim=2, keepdim=True)
        g = torch.zeros_like(x[:, :, :1])
        g[..., :, 1:] = torch.maximum(g[..., :, 1:], gx)
        g[..., :, :-1] = torch.maximum(g[..., :, :-1], gx)
        g[..., 1:, :] = torch.maximum(g[..., 1:, :], gy)
        g[..., :-1, :] = torch.maximum(g[..., :-1, :], gy)
        l1 = l1 + edge_weight * (g * (y - x).abs()).mean()
    return l1


def build(cfg):
    return VaeEncoder(cfg), VaeDecoder(cfg)


def load_vae(cfg, path):
    enc, dec = build(cfg)
    st = torch.load(path, map_location="cpu")
    enc.load_state_dict(st["encoder"])
    dec.load_state_dict(st["decoder"])
    return enc, dec, st
