"""Torch modules of the CogVideoX-shaped model, split along the package's ONNX files.

Everything is driven by a package config (see ``models.lib.config``); the same code
builds the random-initialised ``cogvideox-tiny`` and larger trained packages.

Modules and their ONNX interfaces (B batch, F latent frames, L text tokens,
S = L + F * (h/p) * (w/p)):

* ``TextEncoder``      input_ids int64 [B, L] -> hidden_states [B, L, Dt]
  T5-style: token embedding + learned positions, pre-RMSNorm layers with
  self-attention and GELU MLP, final RMSNorm. No attention mask (CogVideoX
  runs T5 on padded prompts the same way).
* ``TransformerEmbed`` sample [B, F, C, h, w], encoder_hidden_states [B, L, Dt],
  timestep [B] -> hidden_states [B, S, D], temb [B, D]
  Text projected Dt->D, then video patches (p x p, flattened (C, py, px) and
  projected C*p*p->D) plus a 3D sin-cos position: spatial part fixed
  (first D*(1-tf) channels), temporal part computed in-graph from the frame
  index (last D*tf channels), so any F works. With ``transformer.clip_positions``
  half of the temporal channels carry the frame's place in the clip instead
  (k / (F - 1) scaled to 0 .. 25, the same frequencies as the index's other
  half), so a token knows how far through the clip it is at any clip length. temb = MLP(sinusoid(timestep)),
  as CogVideoX (flip_sin_to_cos, freq_shift 0). With ``transformer.pooled_text``
  the mean of the text states over the L tokens goes through a second MLP and
  is added to temb (the pooled-text path of SD3/Flux-style DiTs), so every
  block's adaptive norm sees the caption as well as the timestep.
* ``TransformerBlock`` hidden_states [B, S, D], temb [B, D] -> hidden_states
  CogVideoX block: LayerNormZero (shift/scale/gate for video and text from
  temb), joint full self-attention with per-head q/k LayerNorm, then a second
  LayerNormZero and a GELU(tanh) MLP, gated residuals.
* ``TransformerHead``  hidden_states [B, S, D], temb [B, D] -> sample [B, F, C, h, w]
  LayerNorm, drop the L text tokens, AdaLayerNorm (shift, scale) from temb,
  linear to p*p*C, unpatchify. The output is the v-prediction.
* ``VaeDecoder``       latents [B, F, C, h, w] -> frames [B, 4(F-1)+1, 3, H, W]
  Causal temporal mix of each latent frame with its predecessor, 2D convs,
  temporal expansion to 4 sub-frames per latent frame (dropping 3 from the
  first so it decodes to one frame), nearest x2 upsampling stages with 3x3
  convs, tanh to [-1, 1].
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

from models.lib.config import latent_size


def layer_norm(dim, eps=1e-5):
    # Always affine: a LayerNorm without scale fails the ONNX checker at opset 17.
    return nn.LayerNorm(dim, eps=eps, elementwise_affine=True)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def attention(q, k, v, num_heads):
    """q, k, v: [B, S, D] -> [B, S, D] (plain softmax attention, ONNX friendly)."""
    b = q.shape[0]
    d = q.shape[-1]
    hd = d // num_heads
    q = q.reshape(b, -1, num_heads, hd).transpose(1, 2)
    k = k.reshape(b, -1, num_heads, hd).transpose(1, 2)
    v = v.reshape(b, -1, num_heads, hd).transpose(1, 2)
    w = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
    w = torch.softmax(w, dim=-1)
    o = torch.matmul(w, v)
    return o.transpose(1, 2).reshape(b, -1, d)


# ---------------------------------------------------------------- text encoder


class TextEncoderLayer(nn.Module):
    def __init__(self, dim, heads, ff_mult):
        super().__init__()
        self.heads = heads
        self.norm1 = RMSNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.o = nn.Linear(dim, dim, bias=False)
        self.norm2 = RMSNorm(dim)
        self.ff_in = nn.Linear(dim, dim * ff_mult, bias=False)
        self.ff_out = nn.Linear(dim * ff_mult, dim, bias=False)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.o(attention(self.q(h), self.k(h), self.v(h), self.heads))
        h = self.norm2(x)
        return x + self.ff_out(Fn.gelu(self.ff_in(h)))


class TextEncoder(nn.Module):
    def __init__(self, cfg, vocab_size):
        super().__init__()
        te = cfg["text_encoder"]
        dim = te["hidden_size"]
        self.max_tokens = cfg["tokenizer"]["max_tokens"]
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(self.max_tokens, dim) * 0.1)
        self.layers = nn.ModuleList(
            [TextEncoderLayer(dim, te["num_heads"], te["ff_mult"]) for _ in range(te["num_layers"])]
        )
        self.final_norm = RMSNorm(dim)

    def forward(self, input_ids):
        x = self.embed(input_ids) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.final_norm(x)


# ---------------------------------------------------------------- transformer


def sincos_1d(positions, dim):
    """Standard 1D sin-cos table: [N] -> [N, dim] (first half sin, second cos)."""
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.outer(positions.astype(np.float64), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(grid_h, grid_w, dim):
    """2D sin-cos table [grid_h*grid_w, dim], row-major (y outer, x inner)."""
    ys, xs = np.meshgrid(np.arange(grid_h), np.arange(grid_w), indexing="ij")
    emb_h = sincos_1d(ys.reshape(-1), dim // 2)
    emb_w = sincos_1d(xs.reshape(-1), dim // 2)
    return np.concatenate([emb_w, emb_h], axis=1)


CLIP_POSITION_SCALE = 25.0  # latent frames of a 100-frame clip, minus one


class TransformerEmbed(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        t = cfg["transformer"]
        d = t["hidden_size"]
        self.d = d
        self.p = t["patch_size"]
        self.c = cfg["latent"]["channels"]
        self.h, self.w = latent_size(cfg)
        self.gh, self.gw = self.h // self.p, self.w // self.p
        dt = cfg["text_encoder"]["hidden_size"]
        self.text_proj = nn.Linear(dt, d)
        self.patch_proj = nn.Linear(self.c * self.p * self.p, d)
        # 3D position: spatial channels fixed table, temporal channels in-graph.
        d_t = int(round(d * t.get("temporal_pos_fraction", 0.25)))
        d_t -= d_t % 2
        d_s = d - d_t
        assert d_s % 4 == 0 and d_t % 2 == 0
        self.register_buffer("spatial_pos", torch.tensor(sincos_2d(self.gh, self.gw, d_s), dtype=torch.float32), persistent=True)
        omega = np.arange(d_t // 2, dtype=np.float64) / (d_t / 2.0)
        self.register_buffer("temporal_freqs", torch.tensor(1.0 / 10000 ** omega, dtype=torch.float32), persistent=True)
        self.clip_positions = bool(t.get("clip_positions", False))
        # Timestep embedding: sinusoid of size D then MLP (CogVideoX TimestepEmbedding).
        half = d // 2
        freqs = np.exp(-math.log(10000.0) * np.arange(half, dtype=np.float64) / half)
        self.register_buffer("time_freqs", torch.tensor(freqs, dtype=torch.float32), persistent=True)
        self.time_lin1 = nn.Linear(d, d)
        self.time_lin2 = nn.Linear(d, d)
        self.pooled_text = bool(t.get("pooled_text", False))
        if self.pooled_text:
            self.pool_lin1 = nn.Linear(dt, d)
            self.pool_lin2 = nn.Linear(d, d)

    def timestep_embedding(self, timestep):
        args = timestep[:, None].float() * self.time_freqs[None, :]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # flip_sin_to_cos=True
        return self.time_lin2(Fn.silu(self.time_lin1(emb)))

    def conditioning(self, timestep, encoder_hidden_states):
        temb = self.timestep_embedding(timestep)
        if self.pooled_text:
            pooled = encoder_hidden_states.mean(dim=1)
            temb = temb + self.pool_lin2(Fn.silu(self.pool_lin1(pooled)))
        return temb

    def forward(self, sample, encoder_hidden_states, timestep):
        b = sample.shape[0]
        p, c, gh, gw = self.p, self.c, self.gh, self.gw
        x = sample.reshape(b, -1, c, gh, p, gw, p)
        x = x.permute(0, 1, 3, 5, 2, 4, 6)  # B, F, gy, gx, C, py, px
        x = x.reshape(b, -1, gh * gw, c * p * p)  # B, F, T, C*p*p
        x = self.patch_proj(x)  # B, F, T, D
        n_frames = x.shape[1]
        frame_idx = torch.arange(n_frames, dtype=torch.float32, device=x.device)
        targs = frame_idx[:, None] * self.temporal_freqs[None, :]
        if self.clip_positions:
            # k / (F - 1) in-graph (F from the input's shape), scaled to the frame range of a 100-frame clip.
            place = frame_idx / frame_idx.max().clamp(min=1.0) * CLIP_POSITION_SCALE
            half = self.temporal_freqs.shape[0] // 2
            targs = torch.cat([targs[:, :half], place[:, None] * self.temporal_freqs[None, :half]], dim=-1)
        temporal = torch.cat([torch.sin(targs), torch.cos(targs)], dim=-1)  # F, d_t
        pos = torch.cat(
            [
                self.spatial_pos[None, :, :].expand(n_frames, -1, -1),
                temporal[:, None, :].expand(-1, gh * gw, -1),
            ],
            dim=-1,
        )  # F, T, D
        x = (x + pos[None]).reshape(b, -1, self.d)
        text = self.text_proj(encoder_hidden_states)
        hidden_states = torch.cat([text, x], dim=1)
        return hidden_states, self.conditioning(timestep, encoder_hidden_states)


class LayerNormZero(nn.Module):
    """CogVideoX LayerNormZero: modulation of video and text streams from temb."""

    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, 6 * dim)
        self.norm = layer_norm(dim)

    def forward(self, video, text, temb):
        shift, scale, gate, e_shift, e_scale, e_gate = self.linear(Fn.silu(temb)).chunk(6, dim=1)
        video = self.norm(video) * (1 + scale[:, None, :]) + shift[:, None, :]
        text = self.norm(text) * (1 + e_scale[:, None, :]) + e_shift[:, None, :]
        return video, text, gate[:, None, :], e_gate[:, None, :]


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        t = cfg["transformer"]
        d = t["hidden_size"]
        self.heads = t["num_heads"]
        self.text_len = cfg["tokenizer"]["max_tokens"]
        self.norm1 = LayerNormZero(d)
        self.to_q = nn.Linear(d, d)
        self.to_k = nn.Linear(d, d)
        self.to_v = nn.Linear(d, d)
        self.norm_q = layer_norm(d // self.heads, eps=1e-6)
        self.norm_k = layer_norm(d // self.heads, eps=1e-6)
        self.to_out = nn.Linear(d, d)
        self.norm2 = LayerNormZero(d)
        self.ff_in = nn.Linear(d, d * t["ff_mult"])
        self.ff_out = nn.Linear(d * t["ff_mult"], d)

    def attn(self, x):
        b, d = x.shape[0], x.shape[-1]
        hd = d // self.heads
        q = self.norm_q(self.to_q(x).reshape(b, -1, self.heads, hd)).reshape(b, -1, d)
        k = self.norm_k(self.to_k(x).reshape(b, -1, self.heads, hd)).reshape(b, -1, d)
        return self.to_out(attention(q, k, self.to_v(x), self.heads))

    def forward(self, hidden_states, temb):
        L = self.text_len
        text, video = hidden_states[:, :L], hidden_states[:, L:]
        nv, nt, gate, e_gate = self.norm1(video, text, temb)
        a = self.attn(torch.cat([nt, nv], dim=1))
        video = video + gate * a[:, L:]
        text = text + e_gate * a[:, :L]
        nv, nt, gate, e_gate = self.norm2(video, text, temb)
        f = self.ff_out(Fn.gelu(self.ff_in(torch.cat([nt, nv], dim=1)), approximate="tanh"))
        video = video + gate * f[:, L:]
        text = text + e_gate * f[:, :L]
        return torch.cat([text, video], dim=1)


class TransformerHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        t = cfg["transformer"]
        d = t["hidden_size"]
        self.text_len = cfg["tokenizer"]["max_tokens"]
        self.p = t["patch_size"]
        self.c = cfg["latent"]["channels"]
        self.h, self.w = latent_size(cfg)
        self.norm_final = layer_norm(d)
        self.norm_out_linear = nn.Linear(d, 2 * d)
        self.norm_out = layer_norm(d, eps=1e-6)
        self.proj_out = nn.Linear(d, self.p * self.p * self.c)

    def forward(self, hidden_states, temb):
        b = hidden_states.shape[0]
        x = self.norm_final(hidden_states)[:, self.text_len :]
        shift, scale = self.norm_out_linear(Fn.silu(temb)).chunk(2, dim=1)
        x = self.norm_out(x) * (1 + scale[:, None, :]) + shift[:, None, :]
        x = self.proj_out(x)  # B, F*gh*gw, C*p*p (order C, py, px)
        p, c = self.p, self.c
        gh, gw = self.h // p, self.w // p
        x = x.reshape(b, -1, gh, gw, c, p, p)
        x = x.permute(0, 1, 4, 2, 5, 3, 6)  # B, F, C, gy, py, gx, px
        return x.reshape(b, -1, c, self.h, self.w)


# ---------------------------------------------------------------- VAE decoder


class ResConv(nn.Module):
    """x + conv(silu(conv(silu(x)))) (extended decoder)."""

    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(Fn.silu(self.conv1(Fn.silu(x))))


class VaeDecoder(nn.Module):
    """Decoder of the package VAE.

    Basic layout (``vae.channels`` only, as cogvideox-tiny): conv_in, one
    residual conv_mid, conv_time, one conv per x2 stage at width ``channels``.
    Extended layout (config has ``vae.up_channels``): conv_in, ``vae.mid_blocks``
    residual blocks (two 3x3 convs each) at latent resolution, conv_time, then
    per x2 stage a conv to ``up_channels[i]`` and ``vae.stage_blocks`` residual
    blocks, conv_out. Both keep the same interface and temporal scheme.
    """

    def __init__(self, cfg):
        super().__init__()
        c = cfg["latent"]["channels"]
        ch = cfg["vae"]["channels"]
        s = cfg["latent"]["spatial_compression"]
        self.tc = cfg["latent"]["temporal_compression"]
        self.c, self.ch = c, ch
        self.h, self.w = latent_size(cfg)
        self.H, self.W = cfg["video"]["height"], cfg["video"]["width"]
        n_up = int(round(math.log2(s)))
        self.extended = "up_channels" in cfg["vae"]
        if not self.extended:
            self.conv_in = nn.Conv2d(2 * c, ch, 3, padding=1)
            self.conv_mid = nn.Conv2d(ch, ch, 3, padding=1)
            self.conv_time = nn.Conv2d(ch, self.tc * ch, 3, padding=1)
            self.up_convs = nn.ModuleList([nn.Conv2d(ch, ch, 3, padding=1) for _ in range(n_up)])
            self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)
            self._init_random()
            return
        v = cfg["vae"]
        ups = list(v["up_channels"])
        assert len(ups) == n_up, "vae.up_channels needs one width per x2 stage"
        self.conv_in = nn.Conv2d(2 * c, ch, 3, padding=1)
        self.mid = nn.ModuleList([ResConv(ch) for _ in range(v.get("mid_blocks", 1))])
        self.conv_time = nn.Conv2d(ch, self.tc * ch, 3, padding=1)
        self.up_convs = nn.ModuleList()
        self.stage_blocks = nn.ModuleList()
        prev = ch
        for uc in ups:
            self.up_convs.append(nn.Conv2d(prev, uc, 3, padding=1))
            self.stage_blocks.append(nn.ModuleList([ResConv(uc) for _ in range(v.get("stage_blocks", 0))]))
            prev = uc
        self.conv_out = nn.Conv2d(prev, 3, 3, padding=1)

    def _init_random(self):
        # He-normal init keeps activations at unit scale so a random decoder
        # produces visible, varying frames across [-1, 1] instead of flat gray.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, latents):
        b = latents.shape[0]
        c, ch, h, w = self.c, self.ch, self.h, self.w
        prev = torch.cat([latents[:, :1], latents[:, :-1]], dim=1)  # causal: frame 0 repeats itself
        x = torch.cat([latents, prev], dim=2).reshape(-1, 2 * c, h, w)
        x = Fn.silu(self.conv_in(x))
        if self.extended:
            for blk in self.mid:
                x = blk(x)
        else:
            x = x + Fn.silu(self.conv_mid(x))
        x = self.conv_time(x)  # B*F, 4*ch, h, w
        x = x.reshape(b, -1, ch, h, w)[:, self.tc - 1 :]  # B, 4F-3, ch, h, w
        x = x.reshape(-1, ch, h, w)
        for i, conv in enumerate(self.up_convs):
            x = Fn.interpolate(x, scale_factor=2.0, mode="nearest")
            x = Fn.silu(conv(x))
            if self.extended:
                for blk in self.stage_blocks[i]:
                    x = blk(x)
        x = torch.tanh(self.conv_out(x))
        return x.reshape(b, -1, 3, self.H, self.W)


class PackageModel(nn.Module):
    """All trainable parts of a package in one module (one flat state_dict).

    Checkpoints for ``models.package.export --checkpoint`` are this module's
    ``state_dict()`` (optionally wrapped as ``{"state_dict": ..., "config": ...}``).
    """

    def __init__(self, cfg, vocab_size):
        super().__init__()
        self.text_encoder = TextEncoder(cfg, vocab_size)
        self.embed = TransformerEmbed(cfg)
        self.blocks = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg["transformer"]["num_blocks"])])
        self.head = TransformerHead(cfg)
        self.vae_decoder = VaeDecoder(cfg)

    def parts(self):
        """Exportable sub-modules keyed by package-relative ONNX path, in pipeline order."""
        out = {"text_encoder.onnx": self.text_encoder, "transformer/embed.onnx": self.embed}
        for i, blk in enumerate(self.blocks):
            out["transformer/block_%02d.onnx" % i] = blk
        out["transformer/head.onnx"] = self.head
        out["vae_decoder.onnx"] = self.vae_decoder
        return out

    def transformer(self, sample, encoder_hidden_states, timestep):
        """Full denoiser (embed -> blocks -> head), for training and checks."""
        h, temb = self.embed(sample, encoder_hidden_states, timestep)
        for blk in self.blocks:
            h = blk(h, temb)
        return self.head(h, temb)
