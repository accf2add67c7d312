"""CogVideoX 1.0 transformer (the published 2B and 5B), and its three kinds of stage.

``CogVideoXTransformer`` is built from a published ``transformer/config.json``
(``load_transformer_config``, in ``transformer_config``); its ``state_dict()``
has exactly the published checkpoint's keys and shapes, so ``load_state_dict``
takes the diffusers weights as they are. The text is always
``max_text_seq_length`` (226) tokens, as the pipeline pads it. Two position schemes:

* 2B (``use_rotary_positional_embeddings`` false): a 3D sin-cos table added to
  the video tokens in the patch embedding (a buffer, not in the checkpoint);
* 5B (true): no absolute positions; every attention rotates the video tokens'
  queries and keys with 3D rotary tables (``embeddings.rotary_3d``) that the
  caller computes once per latent frame count.

The stages are views of one model sharing its weights, each one ONNX file:

* ``EmbedStage``  sample [B, F, C, h, w], encoder_hidden_states [B, L, Dt],
  timestep [B] -> hidden_states [B, L + F*(h/p)*(w/p), D] (text first), temb [B, time_embed_dim]
* ``BlockStage``  hidden_states, temb (+ rotary_cos, rotary_sin [F*(h/p)*(w/p), head_dim])
  -> hidden_states_out
* ``HeadStage``   hidden_states, temb -> sample [B, F, C, h, w] (the v-prediction)

CogVideoX 1.5 and image-to-video options are refused by name.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as Fn

from models.cogvideox.embeddings import apply_rotary, sincos_3d, timestep_sinusoid
from models.cogvideox.fused_attention import exporting, multi_head_attention
from models.cogvideox.transformer_config import (  # noqa: F401 (the module's public API)
    CONFIG_DIR,
    TransformerConfig,
    UnsupportedConfigError,
    load_transformer_config,
    transformer_config,
)


# ---------------------------------------------------------------- modules (diffusers' names)


class PatchEmbed(nn.Module):
    """``patch_embed``: Conv2d patches + text projection (+ the 2B's sin-cos positions, not persisted)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        d, p = cfg.inner_dim, cfg.patch_size
        self.proj = nn.Conv2d(cfg.in_channels, d, kernel_size=p, stride=p, bias=cfg.patch_bias, device=device)
        self.text_proj = nn.Linear(cfg.text_embed_dim, d, device=device)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, time_dim, device=None):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, time_dim, device=device)
        self.linear_2 = nn.Linear(time_dim, time_dim, device=device)

    def forward(self, x):
        return self.linear_2(Fn.silu(self.linear_1(x)))


class LayerNormZero(nn.Module):
    """CogVideoXLayerNormZero: shift, scale, gate for the video and the text stream from temb."""

    def __init__(self, time_dim, dim, eps, device=None):
        super().__init__()
        self.linear = nn.Linear(time_dim, 6 * dim, device=device)
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=True, device=device)

    def forward(self, video, text, temb):
        shift, scale, gate, e_shift, e_scale, e_gate = self.linear(Fn.silu(temb)).chunk(6, dim=1)
        video = self.norm(video) * (1 + scale[:, None, :]) + shift[:, None, :]
        text = self.norm(text) * (1 + e_scale[:, None, :]) + e_shift[:, None, :]
        return video, text, gate[:, None, :], e_gate[:, None, :]


class Attention(nn.Module):
    """Joint self-attention over [text, video] with per-head q/k LayerNorm and rotary on the video tokens."""

    def __init__(self, cfg, device=None):
        super().__init__()
        d, hd = cfg.inner_dim, cfg.attention_head_dim
        self.heads = cfg.num_attention_heads
        self.head_dim = hd
        self.to_q = nn.Linear(d, d, bias=cfg.attention_bias, device=device)
        self.to_k = nn.Linear(d, d, bias=cfg.attention_bias, device=device)
        self.to_v = nn.Linear(d, d, bias=cfg.attention_bias, device=device)
        self.norm_q = nn.LayerNorm(hd, eps=1e-6, elementwise_affine=True, device=device)
        self.norm_k = nn.LayerNorm(hd, eps=1e-6, elementwise_affine=True, device=device)
        self.to_out = nn.ModuleList([nn.Linear(d, d, bias=True, device=device), nn.Dropout(cfg.dropout)])

    def _heads(self, x):
        return x.reshape(x.shape[0], -1, self.heads, self.head_dim).transpose(1, 2)

    def _tokens(self, x):
        return x.transpose(1, 2).reshape(x.shape[0], -1, self.heads * self.head_dim)

    def forward(self, x, text_len, rotary=None):
        q = self.norm_q(self._heads(self.to_q(x)))
        k = self.norm_k(self._heads(self.to_k(x)))
        if rotary is not None:
            cos, sin = rotary
            q = torch.cat([q[:, :, :text_len], apply_rotary(q[:, :, text_len:], cos, sin)], dim=2)
            k = torch.cat([k[:, :, :text_len], apply_rotary(k[:, :, text_len:], cos, sin)], dim=2)
        scale = 1.0 / math.sqrt(self.head_dim)
        if exporting():
            # one MultiHeadAttention node: no [B, heads, S, S] scores in the graph
            o = multi_head_attention(self._tokens(q), self._tokens(k), self.to_v(x), self.heads, scale)
        else:
            w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, dim=-1)
            o = self._tokens(torch.matmul(w, self._heads(self.to_v(x))))
        return self.to_out[1](self.to_out[0](o))


class GeluProj(nn.Module):
    def __init__(self, dim, inner, device=None):
        super().__init__()
        self.proj = nn.Linear(dim, inner, device=device)

    def forward(self, x):
        return Fn.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        d = cfg.inner_dim
        self.net = nn.ModuleList(
            [GeluProj(d, 4 * d, device), nn.Dropout(cfg.dropout), nn.Linear(4 * d, d, device=device), nn.Dropout(cfg.dropout)]
        )

    def forward(self, x):
        for layer in self.net:
            x = layer(x)
        return x


class Block(nn.Module):
    """CogVideoXBlock on the joint sequence: hidden_states [B, L + N, D] (text first) -> same shape."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.norm1 = LayerNormZero(cfg.time_embed_dim, cfg.inner_dim, cfg.norm_eps, device)
        self.attn1 = Attention(cfg, device)
        self.norm2 = LayerNormZero(cfg.time_embed_dim, cfg.inner_dim, cfg.norm_eps, device)
        self.ff = FeedForward(cfg, device)

    def forward(self, hidden_states, temb, text_len, rotary=None):
        text, video = hidden_states[:, :text_len], hidden_states[:, text_len:]
        nv, nt, gate, e_gate = self.norm1(video, text, temb)
        a = self.attn1(torch.cat([nt, nv], dim=1), text_len, rotary)
        video = video + gate * a[:, text_len:]
        text = text + e_gate * a[:, :text_len]
        nv, nt, gate, e_gate = self.norm2(video, text, temb)
        f = self.ff(torch.cat([nt, nv], dim=1))
        video = video + gate * f[:, text_len:]
        text = text + e_gate * f[:, :text_len]
        return torch.cat([text, video], dim=1)


class AdaLayerNorm(nn.Module):
    """``norm_out``: shift then scale (CogVideoX's chunk order) from temb."""

    def __init__(self, time_dim, dim, eps, device=None):
        super().__init__()
        self.linear = nn.Linear(time_dim, 2 * dim, device=device)
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=True, device=device)

    def forward(self, x, temb):
        shift, scale = self.linear(Fn.silu(temb)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale[:, None, :]) + shift[:, None, :]


class CogVideoXTransformer(nn.Module):
    """The whole transformer; ``device='meta'`` builds it without allocating weights (shapes and counts only)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.config = cfg
        d = cfg.inner_dim
        self.patch_embed = PatchEmbed(cfg, device)
        self.time_embedding = TimestepEmbedding(d, cfg.time_embed_dim, device)
        self.transformer_blocks = nn.ModuleList([Block(cfg, device) for _ in range(cfg.num_layers)])
        self.norm_final = nn.LayerNorm(d, eps=cfg.norm_eps, elementwise_affine=True, device=device)
        self.norm_out = AdaLayerNorm(cfg.time_embed_dim, d, cfg.norm_eps, device)
        self.proj_out = nn.Linear(d, cfg.patch_size * cfg.patch_size * cfg.out_channels, device=device)

    @property
    def uses_rotary(self):
        return self.config.use_rotary_positional_embeddings

    def forward(self, sample, encoder_hidden_states, timestep, rotary=None):
        """The whole denoiser in the weights' dtype: sample [B, F, C, h, w] -> v-prediction of the same shape.

        ``rotary`` (5B) is ``(cos, sin)`` float32 from ``embeddings.rotary_3d`` for the
        sample's grid; the 2B's sin-cos table is computed for the sample's size, as the
        pipeline does when the size differs from the config's.
        """
        _, f, _, h, w = sample.shape
        if self.uses_rotary and rotary is None:
            raise ValueError("this transformer uses rotary positions: pass rotary=(cos, sin) from embeddings.rotary_3d")
        if encoder_hidden_states.shape[1] != self.config.max_text_seq_length:
            raise ValueError("encoder_hidden_states has %d tokens; the model takes max_text_seq_length=%d (pad the prompt)"
                             % (encoder_hidden_states.shape[1], self.config.max_text_seq_length))
        stage = EmbedStage(self, h, w, f)
        hidden, temb = stage.tokens(sample, encoder_hidden_states, timestep)
        for block in self.transformer_blocks:
            hidden = block(hidden, temb, self.config.max_text_seq_length, rotary)
        return HeadStage(self, h, w).predict(hidden, temb)


# ---------------------------------------------------------------- stages (one ONNX file each)
#
# A stage holds only the submodules it runs, so one stage can be copied, cast and
# exported on its own. Stages take and return float32 and run in their weights'
# dtype inside: the timestep sinusoid and the rotary products stay float32, as the
# pipeline keeps them (in float32 the casts are no-ops and leave no trace).


def _dtype(module):
    return next(module.parameters()).dtype


class EmbedStage(nn.Module):
    """Embed graph for a fixed latent grid (height, width) and up to ``max_frames`` latent frames.

    The 2B's sin-cos table is built once for ``max_frames`` and sliced to the
    input's F in the graph: row f depends on f alone, so the slice equals the
    table the pipeline recomputes for F frames.
    """

    def __init__(self, model, height, width, max_frames=None):
        super().__init__()
        c = model.config
        self.config = c
        self.patch_embed = model.patch_embed
        self.time_embedding = model.time_embedding
        self.grid = (height // c.patch_size, width // c.patch_size)
        self.max_frames = max_frames or c.latent_frames
        if model.uses_rotary:
            self.positions = None
        else:
            table = sincos_3d(
                c.inner_dim, self.grid[0], self.grid[1], self.max_frames,
                c.spatial_interpolation_scale, c.temporal_interpolation_scale,
            )
            self.register_buffer("positions", table, persistent=False)

    def tokens(self, sample, encoder_hidden_states, timestep):
        """-> (hidden_states [B, L + F*T, D], temb [B, time_embed_dim]) in the weights' dtype."""
        c = self.config
        dtype = _dtype(self)
        d = c.inner_dim
        sinusoid = timestep_sinusoid(timestep, d, c.flip_sin_to_cos, c.freq_shift)
        temb = self.time_embedding(sinusoid.to(dtype))
        video = self.patches(sample.to(dtype))  # [B, F, T, D]
        if self.positions is not None:
            video = video + self.positions[None, : video.shape[1]].to(dtype)
        text = self.patch_embed.text_proj(encoder_hidden_states.to(dtype))
        return torch.cat([text, video.reshape(video.shape[0], -1, d)], dim=1), temb

    def patches(self, sample):
        """[B, F, C, h, w] -> [B, F, (h/p)*(w/p), D]: the Conv2d patch projection as a matrix product.

        Each p x p patch flattened (C, py, px) times the conv weight reshaped to [D, C*p*p]
        is the convolution's sum; ONNX's Conv has no bfloat16, MatMul has.
        """
        c = self.config
        p, (gh, gw) = c.patch_size, self.grid
        b = sample.shape[0]
        x = sample.reshape(b, -1, c.in_channels, gh, p, gw, p).permute(0, 1, 3, 5, 2, 4, 6)
        x = x.reshape(b, -1, gh * gw, c.in_channels * p * p)
        proj = self.patch_embed.proj
        return Fn.linear(x, proj.weight.reshape(proj.weight.shape[0], -1), proj.bias)

    def forward(self, sample, encoder_hidden_states, timestep):
        hidden, temb = self.tokens(sample, encoder_hidden_states, timestep)
        return hidden.float(), temb.float()


class BlockStage(nn.Module):
    def __init__(self, model, index):
        super().__init__()
        self.block = model.transformer_blocks[index]
        self.text_len = model.config.max_text_seq_length
        self.rotary = model.uses_rotary

    def forward(self, hidden_states, temb, rotary_cos=None, rotary_sin=None):
        dtype = _dtype(self)
        rotary = (rotary_cos, rotary_sin) if self.rotary else None
        return self.block(hidden_states.to(dtype), temb.to(dtype), self.text_len, rotary).float()


class HeadStage(nn.Module):
    """norm_final, drop the text, norm_out, proj_out, unpatchify to [B, F, C, h, w]."""

    def __init__(self, model, height, width):
        super().__init__()
        self.config = model.config
        self.norm_final = model.norm_final
        self.norm_out = model.norm_out
        self.proj_out = model.proj_out
        self.height, self.width = height, width

    def predict(self, hidden_states, temb):
        c = self.config
        p = c.patch_size
        x = self.norm_final(hidden_states[:, c.max_text_seq_length :])
        x = self.proj_out(self.norm_out(x, temb))
        b = x.shape[0]
        x = x.reshape(b, -1, self.height // p, self.width // p, c.out_channels, p, p)
        x = x.permute(0, 1, 4, 2, 5, 3, 6)  # B, F, C, h/p, p, w/p, p
        return x.reshape(b, -1, c.out_channels, self.height, self.width)

    def forward(self, hidden_states, temb):
        dtype = _dtype(self)
        return self.predict(hidden_states.to(dtype), temb.to(dtype)).float()


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
