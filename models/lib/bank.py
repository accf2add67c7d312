"""The latent bank a denoiser trains on: clips rendered at each latent length, encoded once.

``models.train.bank`` writes it (``bank_000.pt`` … in a run directory, per latent length F
``{"specs": [...], "lat": [N, F, C, h, w]}``, float16, scaled); ``Bank`` reads it.
"""

import glob
import os

import numpy as np
import torch


class Bank:
    """The latent bank of a run: per latent length F, the specs and latents of its clips."""

    def __init__(self, d):
        self.paths = []
        self.specs, self.lat = {}, {}
        self._draw = {}  # per clip length and weights: the probability of each clip
        self.d = d
        self.refresh()

    def __len__(self):
        return sum(len(v) for v in self.specs.values())

    def refresh(self):
        paths = sorted(glob.glob(os.path.join(self.d, "bank_*.pt")))
        new = [p for p in paths if p not in self.paths]
        for p in new:
            for f, v in torch.load(p)["by_f"].items():
                self.specs[f] = self.specs.get(f, []) + v["specs"]
                self.lat[f] = v["lat"] if f not in self.lat else torch.cat([self.lat[f], v["lat"]])
            self.paths.append(p)
        return len(new)

    def window(self, rng, b, f, shape_weights=None):
        """b clips of F latent frames: latents [b, F, C, h, w] and their specs.

        ``shape_weights`` ({"square": 2.0, ...}) draws shape clips of those shapes that many
        times as often as the rest (scenes and unnamed shapes weigh 1).
        """
        if shape_weights:
            key = (f, len(self.specs[f]), tuple(sorted(shape_weights.items())))
            if key not in self._draw:  # the bank grows while it is made, so its size is part of the key
                w = np.array([shape_weights.get(sp.get("shape"), 1.0) if sp["kind"] == "shape" else 1.0 for sp in self.specs[f]])
                self._draw[key] = w / w.sum()
            idx = rng.choice(len(self.specs[f]), size=b, p=self._draw[key])
        else:
            idx = rng.randint(0, len(self.specs[f]), size=b)
        return self.lat[f][torch.from_numpy(idx)].float(), [self.specs[f][i] for i in idx]
