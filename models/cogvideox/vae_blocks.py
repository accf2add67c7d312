"""The layers of CogVideoX's causal 3D VAE (diffusers' ``autoencoder_kl_cogvideox.py``), written for export.

Tensors are [B, C, T, H, W]. Module and parameter names are the published checkpoint's
(``conv.weight`` inside a causal conv, ``norm_layer`` / ``conv_y`` / ``conv_b`` in a spatial
norm, ``resnets`` / ``upsamplers`` / ``downsamplers`` in a block), so its ``state_dict`` loads as is.

Nothing here branches in Python on the number of frames: the odd-first-frame rules are
written with slices whose bounds come from ``T % 2``, so a traced ONNX graph stays right
for any chunk length (1, 2, 3, … latent frames), as diffusers' shape-dependent branches are.

The conv cache: a causal conv with a temporal kernel of 3 sees the two frames before each
output frame. The first chunk of a video pads its input with two copies of its first frame;
every chunk hands the last two frames of its (padded) input on, and the next chunk puts them
in front instead of the padding. Kernel-1 convs (``conv_y``/``conv_b``) need no cache.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def repeat_frames(x, factor):
    """Nearest upsampling of the time axis by an integer factor, keeping the first frame single when
    T is odd: [x0, x1, x2] -> [x0, x1, x1, x2, x2] (factor 2); [x0, x1] -> [x0, x0, x1, x1].
    That is diffusers' rule (interpolate the first frame alone when T > 1 is odd, else all frames)."""
    if factor == 1:
        return x
    b, c, t, h, w = x.shape
    dup = x.unsqueeze(3).expand(b, c, t, factor, h, w).reshape(b, c, t * factor, h, w)
    return dup[:, :, (factor - 1) * (t % 2) :]


def repeat_pixels(x, factor):
    """Nearest upsampling of the last two axes by an integer factor (F.interpolate's 'nearest', exactly)."""
    if factor == 1:
        return x
    *lead, h, w = x.shape
    y = x.reshape(-1, h, 1, w, 1).expand(-1, h, factor, w, factor)
    return y.reshape(*lead, h * factor, w * factor)


def resample_latents(z, time_factor, space_factor):
    """The latents at the size of a feature map ``time_factor`` longer and ``space_factor`` larger: what
    CogVideoXSpatialNorm3D's interpolation of ``zq`` gives (first frame single when the frame count is odd)."""
    return repeat_pixels(repeat_frames(z, time_factor), space_factor)


class CausalConv3d(nn.Module):
    """CogVideoXCausalConv3d: a Conv3d padded causally in time (first frame or the cache) and with zeros in space.

    ``cache_key`` is set by the decoder to the module's path, under which it reads and writes its cache.
    """

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.time_pad = kernel_size - 1
        self.cache_key = None
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, padding=(0, kernel_size // 2, kernel_size // 2))

    def forward(self, x, cache=None, new_cache=None):
        if self.time_pad:
            if cache is None:  # first chunk: the first frame repeated in front
                head = x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
            else:
                head = cache[self.cache_key]
            x = torch.cat([head, x], dim=2)
            if new_cache is not None:
                new_cache[self.cache_key] = x[:, :, -self.time_pad :]
        return self.conv(x)


class SpatialNorm3D(nn.Module):
    """CogVideoXSpatialNorm3D: GroupNorm of ``f`` (over channels-per-group, time and space of the chunk),
    scaled and shifted by 1x1x1 convs of the latents. Here ``zq`` comes already resampled to ``f``'s size."""

    def __init__(self, f_channels, zq_channels, groups):
        super().__init__()
        self.norm_layer = nn.GroupNorm(groups, f_channels, eps=1e-6, affine=True)
        self.conv_y = CausalConv3d(zq_channels, f_channels, 1)
        self.conv_b = CausalConv3d(zq_channels, f_channels, 1)

    def forward(self, f, zq):
        return self.norm_layer(f) * self.conv_y(zq) + self.conv_b(zq)


class ResnetBlock3D(nn.Module):
    """CogVideoXResnetBlock3D without a time embedding (the VAE has none): norm, SiLU, causal conv, twice,
    plus a 1x1x1 conv shortcut when the width changes. Spatial norms when ``spatial_norm_dim`` is given."""

    def __init__(self, in_channels, out_channels, groups, eps, spatial_norm_dim=None):
        super().__init__()
        if spatial_norm_dim is None:
            self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
            self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        else:
            self.norm1 = SpatialNorm3D(in_channels, spatial_norm_dim, groups)
            self.norm2 = SpatialNorm3D(out_channels, spatial_norm_dim, groups)
        self.spatial = spatial_norm_dim is not None
        self.conv1 = CausalConv3d(in_channels, out_channels, 3)
        self.conv2 = CausalConv3d(out_channels, out_channels, 3)
        self.conv_shortcut = nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def _norm(self, norm, x, zq):
        return norm(x, zq) if self.spatial else norm(x)

    def forward(self, x, zq=None, cache=None, new_cache=None):
        h = F.silu(self._norm(self.norm1, x, zq))
        h = self.conv1(h, cache, new_cache)
        h = F.silu(self._norm(self.norm2, h, zq))
        h = self.conv2(h, cache, new_cache)
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return h + x


class Upsample3D(nn.Module):
    """CogVideoXUpsample3D: nearest x2 in space (and in time, first frame single when odd, with
    ``compress_time``), then a 3x3 Conv2d on every frame."""

    def __init__(self, in_channels, out_channels, compress_time):
        super().__init__()
        self.compress_time = compress_time
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        if self.compress_time:
            x = repeat_frames(x, 2)
        x = repeat_pixels(x, 2)
        b, c, t, h, w = x.shape
        y = self.conv(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, y.shape[1], h, w).transpose(1, 2)


class Downsample3D(nn.Module):
    """CogVideoXDownsample3D's parameters (a stride-2 3x3 Conv2d); spool never encodes, so no forward."""

    def __init__(self, in_channels, out_channels, compress_time):
        super().__init__()
        self.compress_time = compress_time
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=2, padding=0)


class DownBlock3D(nn.Module):
    """CogVideoXDownBlock3D's parameters (encoder side; no forward)."""

    def __init__(self, in_channels, out_channels, num_layers, groups, eps, add_downsample, compress_time):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock3D(in_channels if i == 0 else out_channels, out_channels, groups, eps) for i in range(num_layers)
        )
        self.downsamplers = nn.ModuleList([Downsample3D(out_channels, out_channels, compress_time)]) if add_downsample else None


class MidBlock3D(nn.Module):
    """CogVideoXMidBlock3D: two resnets at the narrowest resolution."""

    def __init__(self, channels, groups, eps, spatial_norm_dim=None, num_layers=2):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock3D(channels, channels, groups, eps, spatial_norm_dim) for _ in range(num_layers))

    def forward(self, x, zq=None, cache=None, new_cache=None):
        for resnet in self.resnets:
            x = resnet(x, zq, cache, new_cache)
        return x


class UpBlock3D(nn.Module):
    """CogVideoXUpBlock3D: resnets with spatial norms, then an optional upsampler."""

    def __init__(self, in_channels, out_channels, num_layers, groups, eps, spatial_norm_dim, add_upsample, compress_time):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock3D(in_channels if i == 0 else out_channels, out_channels, groups, eps, spatial_norm_dim)
            for i in range(num_layers)
        )
        self.upsamplers = nn.ModuleList([Upsample3D(out_channels, out_channels, compress_time)]) if add_upsample else None

    def forward(self, x, zq, cache=None, new_cache=None):
        for resnet in self.resnets:
            x = resnet(x, zq, cache, new_cache)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x
