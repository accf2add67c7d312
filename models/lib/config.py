"""Model package configuration: loading and derived sizes.

A package config is a JSON file (``models/configs/<name>.json``) whose keys mirror the
package ``manifest.json`` plus a few architecture-only hyperparameters
(layer counts, feed-forward multipliers, VAE width). The same architecture
code builds every package; only the config and the weights differ.
"""

import json
import os

# models/configs/, beside this package's lib/
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def load_config(name_or_path):
    """Load a config by package name (``models/configs/<name>.json``) or by file path."""
    path = name_or_path
    if not os.path.isfile(path):
        path = os.path.join(CONFIG_DIR, name_or_path + ".json")
    with open(path, "r", encoding="utf-8") as f:
        cfg = json.load(f)
    validate_config(cfg)
    return cfg


def latent_size(cfg):
    """(h, w) of the latent grid."""
    s = cfg["latent"]["spatial_compression"]
    return cfg["video"]["height"] // s, cfg["video"]["width"] // s


def tokens_per_frame(cfg):
    p = cfg["transformer"]["patch_size"]
    h, w = latent_size(cfg)
    return (h // p) * (w // p)


def validate_config(cfg):
    t = cfg["transformer"]
    s = cfg["latent"]["spatial_compression"]
    assert cfg["video"]["height"] % s == 0 and cfg["video"]["width"] % s == 0, "video size must divide by spatial compression"
    h, w = latent_size(cfg)
    assert h % t["patch_size"] == 0 and w % t["patch_size"] == 0, "latent size must divide by patch size"
    assert t["hidden_size"] % t["num_heads"] == 0, "transformer hidden_size must divide by num_heads"
    te = cfg["text_encoder"]
    assert te["hidden_size"] % te["num_heads"] == 0, "text encoder hidden_size must divide by num_heads"
    assert cfg["latent"]["temporal_compression"] == 4, "the decoder implements CogVideoX's 4x temporal compression"
    assert s & (s - 1) == 0 and s >= 1, "spatial compression must be a power of two"
