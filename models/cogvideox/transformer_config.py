"""The published ``transformer/config.json`` of CogVideoX 1.0 (``CogVideoXTransformer3DModel``).

``load_transformer_config`` reads it into a frozen ``TransformerConfig`` with
diffusers' defaults, refusing by name what ``models.cogvideox.transformer`` does
not build: CogVideoX 1.5 (temporal patches, the ofs embedding) and image-to-video
(learned positions, image latents concatenated to the noise), other activations,
and options it does not know.
"""

import dataclasses
import json
import os

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """The published ``CogVideoXTransformer3DModel`` config (defaults as diffusers')."""

    num_attention_heads: int = 30
    attention_head_dim: int = 64
    in_channels: int = 16
    out_channels: int = 16
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    time_embed_dim: int = 512
    text_embed_dim: int = 4096
    num_layers: int = 30
    dropout: float = 0.0
    attention_bias: bool = True
    sample_width: int = 90
    sample_height: int = 60
    sample_frames: int = 49
    patch_size: int = 2
    temporal_compression_ratio: int = 4
    max_text_seq_length: int = 226
    activation_fn: str = "gelu-approximate"
    timestep_activation_fn: str = "silu"
    norm_elementwise_affine: bool = True
    norm_eps: float = 1e-5
    spatial_interpolation_scale: float = 1.875
    temporal_interpolation_scale: float = 1.0
    use_rotary_positional_embeddings: bool = False
    patch_bias: bool = True

    @property
    def inner_dim(self):
        return self.num_attention_heads * self.attention_head_dim

    @property
    def latent_frames(self):
        """Latent frames of ``sample_frames`` (13 for the published 49)."""
        return (self.sample_frames - 1) // self.temporal_compression_ratio + 1


# Options of other CogVideoX variants, refused unless off (None, 0 or false).
_REFUSED = {
    "patch_size_t": "CogVideoX 1.5 (temporal patches)",
    "ofs_embed_dim": "CogVideoX 1.5 image-to-video (the ofs embedding)",
    "use_learned_positional_embeddings": "image-to-video (learned positions)",
}
_FIXED = {
    "activation_fn": "gelu-approximate",
    "timestep_activation_fn": "silu",
    "norm_elementwise_affine": True,
}


class UnsupportedConfigError(ValueError):
    pass


def transformer_config(values):
    """A ``TransformerConfig`` from a published config dict, refusing what this module does not build."""
    known = {f.name for f in dataclasses.fields(TransformerConfig)}
    kwargs = {}
    for key, value in values.items():
        if key.startswith("_"):
            continue  # _class_name, _diffusers_version, _name_or_path
        if key in _REFUSED:
            if value not in (None, False):
                raise UnsupportedConfigError(
                    "transformer config sets %s=%r: %s is not supported; only CogVideoX 1.0 text-to-video "
                    "(2B, 5B) is" % (key, value, _REFUSED[key])
                )
            continue
        if key not in known:
            raise UnsupportedConfigError("transformer config has an unknown option %s=%r" % (key, value))
        if key in _FIXED and value != _FIXED[key]:
            raise UnsupportedConfigError("transformer config sets %s=%r: only %r is supported" % (key, value, _FIXED[key]))
        kwargs[key] = value
    if kwargs.get("out_channels") is None:
        kwargs["out_channels"] = kwargs.get("in_channels", TransformerConfig.in_channels)
    cfg = TransformerConfig(**kwargs)
    if cfg.in_channels != cfg.out_channels:
        raise UnsupportedConfigError(
            "transformer config has in_channels=%d and out_channels=%d: image-to-video (image latents concatenated "
            "to the noise) is not supported" % (cfg.in_channels, cfg.out_channels)
        )
    if cfg.sample_height % cfg.patch_size or cfg.sample_width % cfg.patch_size:
        raise UnsupportedConfigError("sample_height and sample_width must be multiples of patch_size")
    return cfg


def load_transformer_config(name_or_path):
    """Load ``transformer/config.json`` by path, or a config of ``models/cogvideox/configs/`` by name."""
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(CONFIG_DIR, name_or_path + ".json")
    with open(path, encoding="utf-8") as f:
        return transformer_config(json.load(f))
