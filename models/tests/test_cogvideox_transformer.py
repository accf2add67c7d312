"""The CogVideoX transformer: the published checkpoint's names, shapes and sizes, refused options,
and the module against a plain re-derivation of the published computation.

A wrong key or shape means the converter cannot load the published weights; a wrong
order of channels (shift before scale, column before row, text before video) loads
them and computes something else, which only a second, independent derivation shows.
"""

import dataclasses
import json
import math
import os
import unittest

import torch
import torch.nn.functional as Fn

from models.cogvideox import embeddings
from models.cogvideox.transformer import (
    CONFIG_DIR,
    BlockStage,
    CogVideoXTransformer,
    EmbedStage,
    HeadStage,
    UnsupportedConfigError,
    load_transformer_config,
    parameter_count,
    transformer_config,
)

# Parameters of the published transformers. 5B: 5,570,283,072 ("trainable parameters" of a full
# fine-tune of THUDM/CogVideoX-5b in finetrainers' docs/models/cogvideox.md). 2B: the same shape
# arithmetic at 30 layers of width 1920 gives 1,693,783,872 (the model card's "2B"; ≈ 1.69 B).
PUBLISHED_PARAMETERS = {"transformer-2b": 1_693_783_872, "transformer-5b": 5_570_283_072}


def expected_state_dict(cfg):
    """Keys and shapes of diffusers' CogVideoXTransformer3DModel (CogVideoX 1.0), written out from its modules."""
    d, t, hd, p, c = cfg.inner_dim, cfg.time_embed_dim, cfg.attention_head_dim, cfg.patch_size, cfg.in_channels
    out = {
        "patch_embed.proj.weight": (d, c, p, p),
        "patch_embed.proj.bias": (d,),
        "patch_embed.text_proj.weight": (d, cfg.text_embed_dim),
        "patch_embed.text_proj.bias": (d,),
        "time_embedding.linear_1.weight": (t, d),
        "time_embedding.linear_1.bias": (t,),
        "time_embedding.linear_2.weight": (t, t),
        "time_embedding.linear_2.bias": (t,),
        "norm_final.weight": (d,),
        "norm_final.bias": (d,),
        "norm_out.linear.weight": (2 * d, t),
        "norm_out.linear.bias": (2 * d,),
        "norm_out.norm.weight": (d,),
        "norm_out.norm.bias": (d,),
        "proj_out.weight": (p * p * cfg.out_channels, d),
        "proj_out.bias": (p * p * cfg.out_channels,),
    }
    block = {
        "norm1.linear.weight": (6 * d, t), "norm1.linear.bias": (6 * d,), "norm1.norm.weight": (d,), "norm1.norm.bias": (d,),
        "attn1.to_q.weight": (d, d), "attn1.to_q.bias": (d,), "attn1.to_k.weight": (d, d), "attn1.to_k.bias": (d,),
        "attn1.to_v.weight": (d, d), "attn1.to_v.bias": (d,), "attn1.norm_q.weight": (hd,), "attn1.norm_q.bias": (hd,),
        "attn1.norm_k.weight": (hd,), "attn1.norm_k.bias": (hd,), "attn1.to_out.0.weight": (d, d), "attn1.to_out.0.bias": (d,),
        "norm2.linear.weight": (6 * d, t), "norm2.linear.bias": (6 * d,), "norm2.norm.weight": (d,), "norm2.norm.bias": (d,),
        "ff.net.0.proj.weight": (4 * d, d), "ff.net.0.proj.bias": (4 * d,), "ff.net.2.weight": (d, 4 * d), "ff.net.2.bias": (d,),
    }
    for i in range(cfg.num_layers):
        out.update({"transformer_blocks.%d.%s" % (i, k): v for k, v in block.items()})
    return out


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


class CheckpointLayoutTest(unittest.TestCase):
    def test_state_dict_is_the_published_checkpoints(self):
        for name in ("transformer-2b", "transformer-5b", "transformer-2b-tiny", "transformer-5b-tiny"):
            with self.subTest(name):
                cfg = load_transformer_config(name)
                model = CogVideoXTransformer(cfg, device="meta")
                self.assertEqual(shapes(model), expected_state_dict(cfg))

    def test_full_size_parameter_counts_without_allocating(self):
        for name, count in PUBLISHED_PARAMETERS.items():
            with self.subTest(name):
                model = CogVideoXTransformer(load_transformer_config(name), device="meta")
                self.assertTrue(all(p.is_meta for p in model.parameters()))
                self.assertEqual(parameter_count(model), count)

    def test_published_configs_load_with_their_position_scheme(self):
        two, five = load_transformer_config("transformer-2b"), load_transformer_config("transformer-5b")
        self.assertEqual((two.inner_dim, two.num_layers, two.use_rotary_positional_embeddings), (1920, 30, False))
        self.assertEqual((five.inner_dim, five.num_layers, five.use_rotary_positional_embeddings), (3072, 42, True))
        self.assertEqual((two.time_embed_dim, two.latent_frames, two.max_text_seq_length), (512, 13, 226))
        for tiny, full in (("transformer-2b-tiny", two), ("transformer-5b-tiny", five)):
            small = load_transformer_config(tiny)
            differ = {f.name for f in dataclasses.fields(small) if getattr(small, f.name) != getattr(full, f.name)}
            # tiny widths and grid, every option the same
            self.assertLessEqual(differ, {"num_attention_heads", "attention_head_dim", "num_layers", "text_embed_dim",
                                          "time_embed_dim", "sample_height", "sample_width"})

    def test_other_variants_are_refused_by_option(self):
        with open(os.path.join(CONFIG_DIR, "transformer-5b.json"), encoding="utf-8") as f:
            published = json.load(f)
        cases = {
            "patch_size_t": {"patch_size_t": 2},
            "ofs_embed_dim": {"ofs_embed_dim": 512},
            "use_learned_positional_embeddings": {"use_learned_positional_embeddings": True},
            "in_channels=32": {"in_channels": 32},
            "activation_fn": {"activation_fn": "gelu"},
            "some_new_option": {"some_new_option": 1},
        }
        for needle, change in cases.items():
            with self.subTest(needle), self.assertRaisesRegex(UnsupportedConfigError, needle):
                transformer_config({**published, **change})
        # switched-off options of other variants are accepted, as diffusers writes them
        cfg = transformer_config({**published, "patch_size_t": None, "ofs_embed_dim": None, "use_learned_positional_embeddings": False})
        self.assertEqual(cfg.num_layers, 42)


# ---------------------------------------------------------------- the computation, derived again


def _layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def _linear(sd, name, x):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def _silu(x):
    return x / (1 + torch.exp(-x))


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _sincos(pos, dim):
    """[sin(pos·ω_k)..., cos(pos·ω_k)...] with ω_k = 10000^(-k/(dim/2))."""
    k = torch.arange(dim // 2, dtype=torch.float64)
    a = pos * 10000.0 ** (-k / (dim / 2))
    return torch.cat([torch.sin(a), torch.cos(a)])


def _rotate(x, angles):
    """Channel pairs (2k, 2k+1) as complex numbers times e^{i·angle_k}; x [N, hd], angles [N, hd/2]."""
    z = torch.complex(x[:, 0::2], x[:, 1::2]) * torch.polar(torch.ones_like(angles), angles)
    return torch.stack([z.real, z.imag], dim=-1).reshape(x.shape)


def derived_forward(sd, cfg, sample, text, timestep):
    """The published forward pass, token by token and head by head, in float64 (served grid, no crop)."""
    sd = {k: v.double() for k, v in sd.items()}
    d, heads, hd, p, L = cfg.inner_dim, cfg.num_attention_heads, cfg.attention_head_dim, cfg.patch_size, text.shape[1]
    b, f, c, h, w = sample.shape
    gh, gw = h // p, w // p
    half = d // 2
    k = torch.arange(half, dtype=torch.float64)
    args = timestep.double()[:, None] * torch.exp(-math.log(10000) * k / (half - cfg.freq_shift))[None]
    temb = _linear(sd, "time_embedding.linear_2", _silu(_linear(sd, "time_embedding.linear_1", torch.cat([args.cos(), args.sin()], 1))))
    # video tokens: frame, row, column; each a Conv2d patch
    tokens, angles = [], []
    for fi in range(f):
        for y in range(gh):
            for x in range(gw):
                patch = sample[:, fi, :, y * p : (y + 1) * p, x * p : (x + 1) * p].double()
                v = torch.einsum("bcij,dcij->bd", patch, sd["patch_embed.proj.weight"]) + sd["patch_embed.proj.bias"]
                if not cfg.use_rotary_positional_embeddings:
                    s = cfg.spatial_interpolation_scale
                    v = v + torch.cat([_sincos(fi / cfg.temporal_interpolation_scale, d // 4),
                                       _sincos(x / s, 3 * d // 8), _sincos(y / s, 3 * d // 8)])
                tokens.append(v)
                dt, dhw = hd // 4, hd // 8 * 3
                angles.append(torch.cat([fi * 10000.0 ** (-torch.arange(0, dt, 2, dtype=torch.float64) / dt),
                                         y * 10000.0 ** (-torch.arange(0, dhw, 2, dtype=torch.float64) / dhw),
                                         x * 10000.0 ** (-torch.arange(0, dhw, 2, dtype=torch.float64) / dhw)]))
    seq = torch.cat([_linear(sd, "patch_embed.text_proj", text.double()), torch.stack(tokens, 1)], 1)
    for i in range(cfg.num_layers):
        pre = "transformer_blocks.%d." % i

        def modulate(norm, x):
            m = _linear(sd, pre + norm + ".linear", _silu(temb)).chunk(6, 1)  # shift, scale, gate (video); the same for text
            n = _layer_norm(x, sd[pre + norm + ".norm.weight"], sd[pre + norm + ".norm.bias"], cfg.norm_eps)
            video = n[:, L:] * (1 + m[1][:, None]) + m[0][:, None]
            txt = n[:, :L] * (1 + m[4][:, None]) + m[3][:, None]
            return torch.cat([txt, video], 1), torch.cat([m[5][:, None].expand(-1, L, -1), m[2][:, None].expand(-1, seq.shape[1] - L, -1)], 1)

        x, gate = modulate("norm1", seq)
        out = torch.zeros_like(x)
        for bi in range(b):
            for head in range(heads):
                cols = slice(head * hd, (head + 1) * hd)
                q = _linear(sd, pre + "attn1.to_q", x[bi])[:, cols]
                kk = _linear(sd, pre + "attn1.to_k", x[bi])[:, cols]
                v = _linear(sd, pre + "attn1.to_v", x[bi])[:, cols]
                q = _layer_norm(q, sd[pre + "attn1.norm_q.weight"], sd[pre + "attn1.norm_q.bias"], 1e-6)
                kk = _layer_norm(kk, sd[pre + "attn1.norm_k.weight"], sd[pre + "attn1.norm_k.bias"], 1e-6)
                if cfg.use_rotary_positional_embeddings:
                    a = torch.stack(angles)
                    q = torch.cat([q[:L], _rotate(q[L:], a)])
                    kk = torch.cat([kk[:L], _rotate(kk[L:], a)])
                out[bi, :, cols] = torch.softmax(q @ kk.T / math.sqrt(hd), -1) @ v
        seq = seq + gate * _linear(sd, pre + "attn1.to_out.0", out)
        x, gate = modulate("norm2", seq)
        seq = seq + gate * _linear(sd, pre + "ff.net.2", _gelu_tanh(_linear(sd, pre + "ff.net.0.proj", x)))
    video = _layer_norm(seq, sd["norm_final.weight"], sd["norm_final.bias"], cfg.norm_eps)[:, L:]
    shift, scale = _linear(sd, "norm_out.linear", _silu(temb)).chunk(2, 1)
    video = _layer_norm(video, sd["norm_out.norm.weight"], sd["norm_out.norm.bias"], cfg.norm_eps) * (1 + scale[:, None]) + shift[:, None]
    patches = _linear(sd, "proj_out", video)  # [B, F*gh*gw, C*p*p], each patch (C, py, px)
    result = torch.zeros(b, f, cfg.out_channels, h, w, dtype=torch.float64)
    for n in range(f * gh * gw):
        fi, y, x = n // (gh * gw), (n // gw) % gh, n % gw
        result[:, fi, :, y * p : (y + 1) * p, x * p : (x + 1) * p] = patches[:, n].reshape(b, cfg.out_channels, p, p)
    return result


def random_model(name, seed=0):
    torch.manual_seed(seed)
    model = CogVideoXTransformer(load_transformer_config(name)).eval()
    with torch.no_grad():
        for pname, prm in model.named_parameters():
            if "norm" in pname:
                prm.add_(torch.randn_like(prm) * 0.2)  # norm scales and shifts away from 1 and 0, so they count
    return model


class ComputationTest(unittest.TestCase):
    def test_module_matches_the_derivation(self):
        for name in ("transformer-2b-tiny", "transformer-5b-tiny"):
            with self.subTest(name):
                model = random_model(name)
                cfg = model.config
                g = torch.Generator().manual_seed(1)
                sample = torch.randn(2, 2, cfg.in_channels, cfg.sample_height, cfg.sample_width, generator=g)
                text = torch.randn(2, cfg.max_text_seq_length, cfg.text_embed_dim, generator=g)
                timestep = torch.tensor([7.0, 2.0])
                p = cfg.patch_size
                rotary = embeddings.rotary_3d(cfg.attention_head_dim, cfg.sample_height // p, cfg.sample_width // p, 2,
                                              cfg.sample_height // p, cfg.sample_width // p) if model.uses_rotary else None
                with torch.no_grad():
                    got = model(sample, text, timestep, rotary)
                    want = derived_forward(model.state_dict(), cfg, sample, text, timestep)
                self.assertEqual(got.shape, want.shape)
                self.assertLess((got.double() - want).abs().max().item(), 1e-4)
                self.assertGreater(want.abs().mean().item(), 0.1)

    def test_stages_chain_to_the_whole_model(self):
        model = random_model("transformer-5b-tiny")
        cfg = model.config
        h, w = cfg.sample_height, cfg.sample_width
        sample, text = torch.randn(1, 3, cfg.in_channels, h, w), torch.randn(1, cfg.max_text_seq_length, cfg.text_embed_dim)
        t = torch.tensor([500.0])
        rotary = embeddings.rotary_3d(cfg.attention_head_dim, h // 2, w // 2, 3, h // 2, w // 2)
        with torch.no_grad():
            hidden, temb = EmbedStage(model, h, w)(sample, text, t)
            for i in range(cfg.num_layers):
                hidden = BlockStage(model, i)(hidden, temb, *rotary)
            self.assertTrue(torch.equal(HeadStage(model, h, w)(hidden, temb), model(sample, text, t, rotary)))

    def test_position_table_for_fewer_frames_is_a_slice(self):
        # The embed graph holds the table for the config's 13 latent frames and slices it to the
        # input's F; the pipeline recomputes a table for F. Both must be the same numbers, bit for bit.
        model = random_model("transformer-2b-tiny")
        cfg = model.config
        h, w = cfg.sample_height, cfg.sample_width
        stage = EmbedStage(model, h, w)
        self.assertEqual(tuple(stage.positions.shape), (13, (h // 2) * (w // 2), cfg.inner_dim))
        text = torch.randn(1, cfg.max_text_seq_length, cfg.text_embed_dim)
        for f in range(1, 14):
            table = embeddings.sincos_3d(cfg.inner_dim, h // 2, w // 2, f, cfg.spatial_interpolation_scale, cfg.temporal_interpolation_scale)
            self.assertTrue(torch.equal(stage.positions[:f], table), f)
            sample = torch.randn(1, f, cfg.in_channels, h, w)
            with torch.no_grad():
                self.assertTrue(torch.equal(stage(sample, text, torch.tensor([3.0]))[0], EmbedStage(model, h, w, f)(sample, text, torch.tensor([3.0]))[0]))

    def test_rotary_tables_against_their_definition(self):
        # a grid of another aspect than the base: positions are the crop's coordinates, spread by linspace
        cos, sin = embeddings.rotary_3d(16, 4, 4, 3, 4, 6)
        (top, left), (bottom, right) = embeddings.resize_crop_region(4, 4, 4, 6)
        self.assertEqual(((top, left), (bottom, right)), ((0, 1), (4, 5)))
        for n in (0, 5, 17, 47):
            f, y, x = n // 16, (n // 4) % 4, n % 4
            pos = [f] * 2 + [top + y * (bottom * 3 / 4 - top) / 3] * 3 + [left + x * (right * 3 / 4 - left) / 3] * 3
            dims = [4] * 2 + [6] * 3 + [6] * 3
            ks = [0, 2] + [0, 2, 4] * 2
            angles = torch.tensor([p_ * 10000.0 ** (-k / dd) for p_, dd, k in zip(pos, dims, ks)], dtype=torch.float64)
            want = torch.repeat_interleave(angles, 2)
            self.assertLess((cos[n].double() - want.cos()).abs().max().item(), 1e-6)
            self.assertLess((sin[n].double() - want.sin()).abs().max().item(), 1e-6)


if __name__ == "__main__":
    unittest.main()
