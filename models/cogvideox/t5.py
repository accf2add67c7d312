"""CogVideoX's text encoder: the encoder of T5 v1.1 (T5-XXL in the published checkpoints).

Architecture-exact with transformers' ``T5EncoderModel`` built from the published
``text_encoder/config.json``: module names, ``state_dict()`` keys and shapes are
the checkpoint's. ``shared`` is the token embedding and ``encoder.embed_tokens``
the same module, so ``state_dict()`` lists the table under both names while the
published files hold ``shared.weight`` only (``CHECKPOINT_TIED`` says which).

Per block: RMS norm (no mean, no bias) → self-attention without score scaling,
plus a relative position bias that only the first block owns and every block
adds (bidirectional buckets: half the buckets for keys after the query, half
exact offsets, the rest logarithmic up to ``relative_attention_max_distance``) →
residual; RMS norm → gated-GELU feed-forward (``gelu_new``(wi_0 x) · wi_1 x → wo)
→ residual. A final RMS norm. No attention mask: the pipeline runs the encoder
on the padded ids, pads included.
"""

import json
import math
import os
from dataclasses import dataclass

import torch
from torch import nn

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
CHECKPOINT_TIED = {"encoder.embed_tokens.weight": "shared.weight"}


class T5ConfigError(ValueError):
    """A text encoder config spool cannot build."""


@dataclass(frozen=True)
class T5Config:
    vocab_size: int
    d_model: int
    d_kv: int
    d_ff: int
    num_layers: int
    num_heads: int
    relative_attention_num_buckets: int
    relative_attention_max_distance: int
    layer_norm_epsilon: float

    @property
    def inner_dim(self):
        return self.num_heads * self.d_kv


def t5_config_from_dict(d):
    """A published T5 ``config.json`` (dict) → T5Config; only the gated-GELU (v1.1) encoder is supported."""
    ff = d.get("feed_forward_proj", "relu")
    if ff != "gated-gelu" or d.get("dense_act_fn", "gelu_new") != "gelu_new":
        raise T5ConfigError(
            "feed_forward_proj %r / dense_act_fn %r: only T5 v1.1's gated-gelu with gelu_new is supported" % (ff, d.get("dense_act_fn"))
        )
    try:
        cfg = T5Config(
            vocab_size=int(d["vocab_size"]),
            d_model=int(d["d_model"]),
            d_kv=int(d["d_kv"]),
            d_ff=int(d["d_ff"]),
            num_layers=int(d["num_layers"]),
            num_heads=int(d["num_heads"]),
            relative_attention_num_buckets=int(d.get("relative_attention_num_buckets", 32)),
            relative_attention_max_distance=int(d.get("relative_attention_max_distance", 128)),
            layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-6)),
        )
    except KeyError as err:
        raise T5ConfigError("text encoder config lacks %s" % err) from None
    sizes = (cfg.vocab_size, cfg.d_model, cfg.d_kv, cfg.d_ff, cfg.num_layers, cfg.num_heads, cfg.relative_attention_num_buckets)
    if min(sizes) < 1 or cfg.relative_attention_num_buckets < 4 or cfg.relative_attention_max_distance < cfg.relative_attention_num_buckets // 2:
        raise T5ConfigError("text encoder config has impossible sizes: %s" % (cfg,))
    return cfg


def load_t5_config(path_or_name):
    """A ``config.json`` path, or a config name in configs/ (``"xxl"``, ``"tiny"`` → ``text_encoder-<name>.json``)."""
    path = path_or_name if os.path.sep in path_or_name or path_or_name.endswith(".json") else os.path.join(CONFIG_DIR, "text_encoder-%s.json" % path_or_name)
    with open(path, encoding="utf-8") as f:
        return t5_config_from_dict(json.load(f))


def relative_position_bucket(relative_position, num_buckets=32, max_distance=128):
    """Bidirectional bucket of ``memory_position - query_position`` (LongTensor), as Mesh TensorFlow's T5 computes it."""
    num_buckets //= 2
    buckets = (relative_position > 0).to(torch.long) * num_buckets
    distance = torch.abs(relative_position)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    # float32 arithmetic, as the published model computes it: the buckets at exact powers depend on it
    large = max_exact + (
        torch.log(distance.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(is_small, distance, large)


def relative_position_table(num_buckets=32, max_distance=128):
    """Buckets of the offsets -max_distance … max_distance (LongTensor [2·max_distance + 1]).

    Every offset beyond ±max_distance falls in the same bucket as ±max_distance,
    so the ONNX graph clips offsets into this range and looks the bucket up.
    """
    return relative_position_bucket(torch.arange(-max_distance, max_distance + 1), num_buckets, max_distance)


class T5LayerNorm(nn.Module):
    """RMS norm: x / sqrt(mean(x²) + eps) · weight, accumulated in float32."""

    def __init__(self, size, eps, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size, device=device))
        self.variance_epsilon = eps

    def forward(self, x):
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype in (torch.float16, torch.bfloat16):
            x = x.to(self.weight.dtype)
        return self.weight * x


def gelu_new(x):
    """GELU, tanh approximation (transformers' ``gelu_new``)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class T5Attention(nn.Module):
    def __init__(self, cfg, has_relative_attention_bias, device=None):
        super().__init__()
        self.n_heads, self.d_kv = cfg.num_heads, cfg.d_kv
        self.num_buckets, self.max_distance = cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance
        self.q = nn.Linear(cfg.d_model, cfg.inner_dim, bias=False, device=device)
        self.k = nn.Linear(cfg.d_model, cfg.inner_dim, bias=False, device=device)
        self.v = nn.Linear(cfg.d_model, cfg.inner_dim, bias=False, device=device)
        self.o = nn.Linear(cfg.inner_dim, cfg.d_model, bias=False, device=device)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(cfg.relative_attention_num_buckets, cfg.num_heads, device=device)

    def compute_bias(self, length):
        """[1, heads, length, length] position bias (the first block's)."""
        pos = torch.arange(length, device=self.relative_attention_bias.weight.device)
        buckets = relative_position_bucket(pos[None, :] - pos[:, None], self.num_buckets, self.max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x, position_bias):
        b, n, _ = x.shape

        def heads(t):
            return t.view(b, n, self.n_heads, self.d_kv).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(3, 2)) + position_bias  # no 1/sqrt(d_kv): folded into the weights
        weights = torch.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, self.n_heads * self.d_kv)
        return self.o(out)


class T5LayerSelfAttention(nn.Module):
    def __init__(self, cfg, has_relative_attention_bias, device=None):
        super().__init__()
        self.SelfAttention = T5Attention(cfg, has_relative_attention_bias, device)
        self.layer_norm = T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon, device)

    def forward(self, x, position_bias):
        return x + self.SelfAttention(self.layer_norm(x), position_bias)


class T5DenseGatedActDense(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.wi_0 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False, device=device)
        self.wi_1 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False, device=device)
        self.wo = nn.Linear(cfg.d_ff, cfg.d_model, bias=False, device=device)

    def forward(self, x):
        h = gelu_new(self.wi_0(x)) * self.wi_1(x)
        return self.wo(h.to(self.wo.weight.dtype))


class T5LayerFF(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(cfg, device)
        self.layer_norm = T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon, device)

    def forward(self, x):
        return x + self.DenseReluDense(self.layer_norm(x))


def _clamp_fp16(x):
    # as transformers does for float16 activations, which T5 v1.1 can overflow
    if x.dtype == torch.float16:
        limit = torch.finfo(x.dtype).max - 1000
        x = torch.clamp(x, -limit, limit)
    return x


class T5Block(nn.Module):
    def __init__(self, cfg, has_relative_attention_bias, device=None):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(cfg, has_relative_attention_bias, device), T5LayerFF(cfg, device)])

    def forward(self, x, position_bias):
        x = _clamp_fp16(self.layer[0](x, position_bias))
        return _clamp_fp16(self.layer[1](x))


class T5Stack(nn.Module):
    def __init__(self, cfg, embed_tokens, device=None):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.block = nn.ModuleList([T5Block(cfg, i == 0, device) for i in range(cfg.num_layers)])
        self.final_layer_norm = T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon, device)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        bias = self.block[0].layer[0].SelfAttention.compute_bias(input_ids.shape[1]).to(x.dtype)
        for block in self.block:
            x = block(x, bias)
        return self.final_layer_norm(x)


class T5Encoder(nn.Module):
    """input_ids int64 [B, L] → last hidden state [B, L, d_model] (``T5EncoderModel(...)[0]``)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.config = cfg
        self.shared = nn.Embedding(cfg.vocab_size, cfg.d_model, device=device)
        self.encoder = T5Stack(cfg, self.shared, device)

    def forward(self, input_ids):
        return self.encoder(input_ids)


def checkpoint_keys(model):
    """The keys a published checkpoint file holds: ``state_dict()`` without the tied aliases."""
    return [k for k in model.state_dict() if k not in CHECKPOINT_TIED]


def count_parameters(model):
    """Distinct parameters (the tied embedding once); works on meta tensors."""
    return sum(p.numel() for p in model.parameters())


def load_t5_state(model, state):
    """Load a published checkpoint's tensors (name → tensor, any float dtype) into ``model``.

    The tied ``encoder.embed_tokens.weight`` may be absent; anything else missing,
    extra or of the wrong shape raises with the offending names.
    """
    expected = model.state_dict()
    state = dict(state)
    for alias, source in CHECKPOINT_TIED.items():
        if alias not in state and source in state:
            state[alias] = state[source]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        raise T5ConfigError(
            "text encoder checkpoint does not fit the config: missing %s, unexpected %s, wrong shapes %s"
            % (missing[:5], unexpected[:5], ["%s %s != %s" % (k, tuple(state[k].shape), tuple(expected[k].shape)) for k in wrong[:5]])
        )
    model.load_state_dict({k: torch.as_tensor(v).to(expected[k].dtype) for k, v in state.items()})
    return model


def init_t5_weights(model, seed=0):
    """Seeded random weights with transformers' T5 initialisation scales; norm weights around 1 (not exactly 1)."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)

    def normal(p, std):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)

    normal(model.shared.weight, 1.0)
    for block in model.encoder.block:
        att = block.layer[0].SelfAttention
        normal(att.q.weight, (cfg.d_model * cfg.d_kv) ** -0.5)
        normal(att.k.weight, cfg.d_model ** -0.5)
        normal(att.v.weight, cfg.d_model ** -0.5)
        normal(att.o.weight, cfg.inner_dim ** -0.5)
        if hasattr(att, "relative_attention_bias"):
            normal(att.relative_attention_bias.weight, cfg.d_model ** -0.5)
        ff = block.layer[1].DenseReluDense
        normal(ff.wi_0.weight, cfg.d_model ** -0.5)
        normal(ff.wi_1.weight, cfg.d_model ** -0.5)
        normal(ff.wo.weight, cfg.d_ff ** -0.5)
    for module in model.modules():
        if isinstance(module, T5LayerNorm):
            with torch.no_grad():
                module.weight.copy_(1.0 + 0.1 * torch.randn(module.weight.shape, generator=g))
    return model
