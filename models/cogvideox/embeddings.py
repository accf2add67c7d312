"""Position and timestep embeddings of the CogVideoX 1.0 transformer.

Each function computes what diffusers' CogVideoX code computes, in the same
precision, so tables built here match the published pipeline's bit for bit
(or to float32 rounding where the pipeline rounds):

* ``timestep_sinusoid``  the ``Timesteps`` projection (float32, cos first when
  ``flip_sin_to_cos``), computed inside the embed graph;
* ``sincos_3d``          the 2B's absolute position table [T, H*W, D]:
  temporal quarter first, then the spatial part whose first half encodes the
  column and second half the row (positions divided by the interpolation
  scales, rounded to float32, then sin/cos in float64);
* ``rotary_3d``          the 5B's rotary tables [T*H*W, head_dim] (cos, sin):
  per token the temporal, row and column frequency blocks, each frequency
  repeated twice (interleaved pairs), all in float32 as the pipeline's
  ``_prepare_rotary_positional_embeddings`` does;
* ``resize_crop_region`` where the request's latent grid sits in the grid the
  model was trained at (its rotary positions are that crop's coordinates);
* ``apply_rotary``       rotation of interleaved (real, imaginary) pairs.
"""

import math

import numpy as np
import torch


def timestep_sinusoid(timestep, dim, flip_sin_to_cos=True, freq_shift=0.0, max_period=10000):
    """timestep [B] -> [B, dim] float32 sinusoid (diffusers' get_timestep_embedding)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timestep.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = timestep[:, None].float() * freqs[None, :]
    sin, cos = torch.sin(args), torch.cos(args)
    emb = torch.cat([cos, sin], dim=-1) if flip_sin_to_cos else torch.cat([sin, cos], dim=-1)
    if dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


def _sincos_1d(dim, pos32):
    """[M] float32 positions -> [M, dim] float64 (first half sin, second half cos)."""
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.outer(pos32.astype(np.float64), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_3d(embed_dim, grid_height, grid_width, frames, spatial_interpolation_scale=1.0, temporal_interpolation_scale=1.0):
    """The 3D sin-cos position table, float32 [frames, grid_height * grid_width, embed_dim].

    Row f of the table depends on f alone, so the table for F frames is the first F
    rows of the table for any larger frame count (the embed graph slices it).
    """
    if embed_dim % 16 != 0:
        raise ValueError("the 3D sin-cos positions need a hidden size divisible by 16 (got %d)" % embed_dim)
    d_spatial = 3 * embed_dim // 4
    d_temporal = embed_dim // 4
    rows = (np.arange(grid_height, dtype=np.float32) / np.float32(spatial_interpolation_scale)).astype(np.float32)
    cols = (np.arange(grid_width, dtype=np.float32) / np.float32(spatial_interpolation_scale)).astype(np.float32)
    col_grid, row_grid = np.meshgrid(cols, rows)  # both [H, W], row-major tokens
    spatial = np.concatenate(
        [_sincos_1d(d_spatial // 2, col_grid.reshape(-1)), _sincos_1d(d_spatial // 2, row_grid.reshape(-1))], axis=1
    )  # [H*W, 3D/4]
    t = (np.arange(frames, dtype=np.float32) / np.float32(temporal_interpolation_scale)).astype(np.float32)
    temporal = _sincos_1d(d_temporal, t)  # [T, D/4]
    hw = grid_height * grid_width
    table = np.concatenate(
        [np.repeat(temporal[:, None, :], hw, axis=1), np.repeat(spatial[None, :, :], frames, axis=0)], axis=-1
    )
    return torch.from_numpy(table.astype(np.float32))


def resize_crop_region(grid_height, grid_width, base_height, base_width):
    """((top, left), (bottom, right)) of a grid resized to fit the base grid, centred (the pipeline's crop)."""
    if grid_height / grid_width > base_height / base_width:
        resize_h = base_height
        resize_w = int(round(base_height / grid_height * grid_width))
    else:
        resize_w = base_width
        resize_h = int(round(base_width / grid_width * grid_height))
    top = int(round((base_height - resize_h) / 2.0))
    left = int(round((base_width - resize_w) / 2.0))
    return (top, left), (top + resize_h, left + resize_w)


def linspace32(start, end, steps):
    """torch.linspace in float32 as PyTorch's scalar CPU kernel computes it (the first half counts up from
    start, the second half down from end); torch 1.13 vectorises it and rounds some values of long
    non-integer ranges differently, by one float32 ulp."""
    s, e = np.float32(start), np.float32(end)
    if steps == 1:
        return torch.tensor([s], dtype=torch.float32)
    step = np.float32(np.float32(e - s) / np.float32(steps - 1))
    half = steps // 2
    out = [s + step * np.float32(i) if i < half else e - step * np.float32(steps - i - 1) for i in range(steps)]
    return torch.from_numpy(np.array(out, dtype=np.float32))


def _rotary_1d(dim, pos, theta):
    """float32 positions [M] -> (cos, sin) [M, dim], each frequency repeated twice."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32)[: dim // 2] / dim))
    angles = torch.outer(pos, freqs)
    return angles.cos().repeat_interleave(2, dim=1), angles.sin().repeat_interleave(2, dim=1)


def rotary_3d(head_dim, grid_height, grid_width, frames, base_height, base_width, theta=10000.0):
    """(cos, sin) float32 [frames * grid_height * grid_width, head_dim] for a latent grid in patches.

    Head channels split into a temporal quarter and two 3/8 spatial parts (rows,
    then columns); spatial positions are the crop region's coordinates in the
    base grid, spread over the request's grid as the pipeline's linspace does.
    """
    if head_dim % 8 != 0:
        raise ValueError("3D rotary positions need a head size divisible by 8 (got %d)" % head_dim)
    (top, left), (bottom, right) = resize_crop_region(grid_height, grid_width, base_height, base_width)
    rows = linspace32(top, bottom * (grid_height - 1) / grid_height, grid_height)
    cols = linspace32(left, right * (grid_width - 1) / grid_width, grid_width)
    t = linspace32(0, frames * (frames - 1) / frames, frames)
    dim_t, dim_hw = head_dim // 4, head_dim // 8 * 3
    parts = [_rotary_1d(dim_t, t, theta), _rotary_1d(dim_hw, rows, theta), _rotary_1d(dim_hw, cols, theta)]

    def combine(i):
        ft, fh, fw = (p[i] for p in parts)
        return torch.cat(
            [
                ft[:, None, None, :].expand(-1, grid_height, grid_width, -1),
                fh[None, :, None, :].expand(frames, -1, grid_width, -1),
                fw[None, None, :, :].expand(frames, grid_height, -1, -1),
            ],
            dim=-1,
        ).reshape(frames * grid_height * grid_width, head_dim)

    return combine(0), combine(1)


def apply_rotary(x, cos, sin):
    """x [B, heads, N, head_dim] rotated by float32 (cos, sin) [N, head_dim], in float32 and back to x's dtype.

    Pairs (x0, x1) of channels become (x0 c - x1 s, x1 c + x0 s).
    """
    pairs = x.reshape(x.shape[0], x.shape[1], x.shape[2], -1, 2)
    real, imag = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack([-imag, real], dim=-1).reshape(x.shape)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)
