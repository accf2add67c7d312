"""Losses of the denoiser's training beyond the plain v error (``models.train.dit``)."""

import torch
import torch.nn as nn

from models.lib import world


def object_weight(x0, strength):
    """Per-latent-pixel loss weight [B, F, 1, h, w]: 1 on the background, up to 1 + strength on the object.

    The object covers about a tenth of the frame, so under a plain mean-squared error where
    it is, what shape it has and which way it moves weigh little against the background
    colour. A latent pixel's distance from its frame's median latent (the background),
    relative to the clip's largest such distance, marks the object.
    """
    if strength <= 0:
        return torch.ones(1, 1, 1, 1, 1)
    b, f, c, h, w = x0.shape
    med = x0.reshape(b, f, c, h * w).median(dim=-1).values[..., None, None]
    d = (x0 - med).pow(2).sum(dim=2, keepdim=True).sqrt()
    rel = d / d.amax(dim=(1, 2, 3, 4), keepdim=True).clamp(min=1e-6)
    return 1.0 + strength * rel.pow(2)


AUX_ATTRIBUTES = {"shape": world.SHAPES, "color": world.COLOR_NAMES, "background": world.COLOR_NAMES, "direction": world.DIRECTIONS}


def text_aux_loss(heads, text, caps, specs):
    """Cross-entropy of linear heads reading a shape caption's attributes from the pooled text states.

    The denoiser's own loss barely tells a "square" from a "circle" (a few corner pixels), so
    without help the text encoder maps the two to nearly the same pooled features and the
    adaptive norms cannot tell them apart. These heads (training only, not exported) make the
    pooled text carry every attribute of the caption: shape, object colour, background, direction.
    """
    rows = [i for i, (c, sp) in enumerate(zip(caps, specs)) if c and sp["kind"] == "shape"]
    if not rows:
        return text.sum() * 0.0
    pooled = text[rows].mean(dim=1)
    loss = 0.0
    for k, values in AUX_ATTRIBUTES.items():
        target = torch.tensor([values.index(specs[i][k]) for i in rows])
        loss = loss + nn.functional.cross_entropy(heads[k](pooled), target)
    return loss / len(AUX_ATTRIBUTES)


def pixel_loss(decoder, x0, x0_pred, t, specs, scale, t_max, clips, frames, strength):
    """Weighted squared error of the decoded prediction x0_pred against the decoded clip, in pixels.

    Under the latent loss a square and a circle differ by a few small latent values that the
    decoder turns into corners; here the error is measured where the judge looks. Only shape
    clips at t < ``t_max`` (where x0_pred is close enough to the clip for pixels to compare), at
    most ``clips`` of them and their first ``frames`` latent frames, so the decoder's cost stays
    a fraction of a step. The object's pixels weigh up to 1 + ``strength`` (as ``object_weight``).
    """
    rows = [i for i in range(len(specs)) if int(t[i]) < t_max and specs[i]["kind"] == "shape"][:clips]
    if not rows:
        return None
    with torch.no_grad():
        target = decoder(x0[rows, :frames] / scale)
        w = object_weight(target, strength)
    out = decoder(x0_pred[rows, :frames] / scale)
    return (w * (out - target).pow(2)).mean()
