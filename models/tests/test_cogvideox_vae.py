"""CogVideoX's VAE: the published checkpoint's keys, shapes and size; the chunked decode against diffusers'
formulas; the stage graphs' wrappers and export."""

import contextlib
import io
import os
import tempfile
import unittest
import warnings

import torch
import torch.nn.functional as F

from models.cogvideox import vae as V
from models.cogvideox.vae_blocks import repeat_frames, repeat_pixels

try:
    import onnx

    from models.cogvideox import vae_export as X
    from models.cogvideox.onnx_dtype import cast_graph
except ModuleNotFoundError as err:  # onnx: a machine with torch alone still runs the rest
    X = None
    MISSING = err.name


def published_shapes(cfg):
    """Every key of the published checkpoint with its shape, from diffusers' class structure (arithmetic only)."""
    out = {}
    ch, zc, layers = cfg["block_out_channels"], cfg["latent_channels"], cfg["layers_per_block"]

    def conv(p, cin, cout, k, dims=3, causal=True):
        p = p + ".conv" if causal else p
        out[p + ".weight"] = (cout, cin) + (k,) * dims
        out[p + ".bias"] = (cout,)

    def group_norm(p, c):
        out[p + ".weight"] = out[p + ".bias"] = (c,)

    def spatial_norm(p, c):
        group_norm(p + ".norm_layer", c)
        conv(p + ".conv_y", zc, c, 1)
        conv(p + ".conv_b", zc, c, 1)

    def resnet(p, cin, cout, spatial):
        (spatial_norm if spatial else group_norm)(p + ".norm1", cin)
        conv(p + ".conv1", cin, cout, 3)
        (spatial_norm if spatial else group_norm)(p + ".norm2", cout)
        conv(p + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(p + ".conv_shortcut", cin, cout, 1, causal=False)

    conv("encoder.conv_in", cfg["in_channels"], ch[0], 3)
    for i, c in enumerate(ch):
        for j in range(layers):
            resnet("encoder.down_blocks.%d.resnets.%d" % (i, j), (ch[max(i - 1, 0)] if j == 0 else c), c, False)
        if i < len(ch) - 1:
            conv("encoder.down_blocks.%d.downsamplers.0.conv" % i, c, c, 3, dims=2, causal=False)
    for j in range(2):
        resnet("encoder.mid_block.resnets.%d" % j, ch[-1], ch[-1], False)
    group_norm("encoder.norm_out", ch[-1])
    conv("encoder.conv_out", ch[-1], 2 * zc, 3)
    rc = list(reversed(ch))
    conv("decoder.conv_in", zc, rc[0], 3)
    for j in range(2):
        resnet("decoder.mid_block.resnets.%d" % j, rc[0], rc[0], True)
    for i, c in enumerate(rc):
        for j in range(layers + 1):
            resnet("decoder.up_blocks.%d.resnets.%d" % (i, j), (rc[max(i - 1, 0)] if j == 0 else c), c, True)
        if i < len(rc) - 1:
            conv("decoder.up_blocks.%d.upsamplers.0.conv" % i, c, c, 3, dims=2, causal=False)
    spatial_norm("decoder.norm_out", rc[-1])
    conv("decoder.conv_out", rc[-1], cfg["out_channels"], 3)
    return out


class KeysTest(unittest.TestCase):
    def test_state_dict_is_the_published_checkpoints(self):
        for name in ("2b", "5b", "tiny"):
            cfg = V.load_vae_config(name)
            with V.on_meta():
                vae = V.AutoencoderKLCogVideoX(cfg)
            got = {k: tuple(t.shape) for k, t in vae.state_dict().items()}
            self.assertEqual(got, published_shapes(cfg), name)
            self.assertTrue(all(t.is_meta for t in vae.state_dict().values()), "no weights allocated")

    def test_parameter_count_is_the_published_size(self):
        # The published vae/diffusion_pytorch_model.safetensors of CogVideoX-2b and -5b is 862 MB in float32.
        for name in ("2b", "5b"):
            with V.on_meta():
                vae = V.AutoencoderKLCogVideoX(V.load_vae_config(name))
            n = V.parameter_count(vae)
            self.assertEqual(n, 215_583_907)
            self.assertAlmostEqual(n * 4 / 1e6, 862, delta=0.5)
            self.assertEqual(V.parameter_count(vae.decoder), 123_368_451)

    def test_tiny_has_the_published_keys_and_configs_differ_only_where_published(self):
        with V.on_meta():
            full, tiny = (V.AutoencoderKLCogVideoX(V.load_vae_config(n)) for n in ("2b", "tiny"))
        self.assertEqual(list(full.state_dict()), list(tiny.state_dict()))
        self.assertEqual(full.decoder.cache_keys, tiny.decoder.cache_keys)
        self.assertEqual(len(full.decoder.cache_keys), 38)
        a, b = V.load_vae_config("2b"), V.load_vae_config("5b")
        self.assertEqual({k for k in a if a[k] != b[k]}, {"scaling_factor"})
        self.assertEqual((a["scaling_factor"], b["scaling_factor"]), (1.15258426, 0.7))

    def test_config_mistakes_are_named(self):
        cfg = dict(V.load_vae_config("tiny"), norm_num_groups=3)
        with self.assertRaisesRegex(ValueError, "norm_num_groups must divide every block_out_channels"):
            V.AutoencoderKLCogVideoX(cfg)
        with self.assertRaisesRegex(ValueError, "post_quant_conv"):
            V.check_vae_config(dict(V.load_vae_config("tiny"), use_post_quant_conv=True))


# ---------------------------------------------------------------- diffusers' formulas, transcribed


def ref_conv(m, x, cache):
    k = m.time_pad + 1
    if k > 1:
        x = torch.cat(([cache] if cache is not None else [x[:, :, :1]] * (k - 1)) + [x], dim=2)
    new = x[:, :, -k + 1 :].clone() if k > 1 else None
    p = m.conv.padding[1]
    return F.conv3d(F.pad(x, (p, p, p, p)), m.conv.weight, m.conv.bias), new


def ref_spatial_norm(m, f, zq):
    if f.shape[2] > 1 and f.shape[2] % 2 == 1:
        z_first = F.interpolate(zq[:, :, :1], size=(1,) + tuple(f.shape[-2:]))
        z_rest = F.interpolate(zq[:, :, 1:], size=(f.shape[2] - 1,) + tuple(f.shape[-2:]))
        zq = torch.cat([z_first, z_rest], dim=2)
    else:
        zq = F.interpolate(zq, size=f.shape[-3:])
    return m.norm_layer(f) * ref_conv(m.conv_y, zq, None)[0] + ref_conv(m.conv_b, zq, None)[0]


def ref_resnet(m, x, zq, cache):
    cache, new = cache or {}, {}
    h = F.silu(ref_spatial_norm(m.norm1, x, zq))
    h, new["conv1"] = ref_conv(m.conv1, h, cache.get("conv1"))
    h = F.silu(ref_spatial_norm(m.norm2, h, zq))
    h, new["conv2"] = ref_conv(m.conv2, h, cache.get("conv2"))
    return h + (m.conv_shortcut(x) if m.conv_shortcut is not None else x), new


def ref_upsample(m, x):
    if m.compress_time:
        if x.shape[2] > 1 and x.shape[2] % 2 == 1:
            x = torch.cat([F.interpolate(x[:, :, 0], scale_factor=2.0)[:, :, None], F.interpolate(x[:, :, 1:], scale_factor=2.0)], dim=2)
        elif x.shape[2] > 1:
            x = F.interpolate(x, scale_factor=2.0)
        else:
            x = F.interpolate(x.squeeze(2), scale_factor=2.0)[:, :, None]
    else:
        b, c, t, h, w = x.shape
        x = F.interpolate(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w), scale_factor=2.0)
        x = x.reshape(b, t, c, *x.shape[2:]).permute(0, 2, 1, 3, 4)
    b, c, t, h, w = x.shape
    x = m.conv(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
    return x.reshape(b, t, *x.shape[1:]).permute(0, 2, 1, 3, 4)


def ref_decoder(d, z, cache):
    cache, new = cache or {}, {}
    x, new["conv_in"] = ref_conv(d.conv_in, z, cache.get("conv_in"))
    for i, r in enumerate(d.mid_block.resnets):
        x, new["mid_%d" % i] = ref_resnet(r, x, z, cache.get("mid_%d" % i))
    for i, block in enumerate(d.up_blocks):
        for j, r in enumerate(block.resnets):
            x, new["up_%d_%d" % (i, j)] = ref_resnet(r, x, z, cache.get("up_%d_%d" % (i, j)))
        if block.upsamplers is not None:
            x = ref_upsample(block.upsamplers[0], x)
    x = F.silu(ref_spatial_norm(d.norm_out, x, z))
    x, new["conv_out"] = ref_conv(d.conv_out, x, cache.get("conv_out"))
    return x, new


def ref_decode(vae, z, batch=2):
    """diffusers' _decode: chunks of `batch` latent frames, the first also taking the remainder."""
    num_frames = z.shape[2]
    dec, cache = [], None
    for i in range(max(num_frames // batch, 1)):
        rem = num_frames % batch
        start, end = batch * i + (0 if i == 0 else rem), batch * (i + 1) + rem
        x, cache = ref_decoder(vae.decoder, z[:, :, start:end], cache)
        dec.append(x)
    return torch.cat(dec, dim=2)


class DecodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vae = X.random_vae(V.load_vae_config("tiny"), seed=3) if X else None
        if cls.vae is None:
            torch.manual_seed(3)
            cls.vae = V.AutoencoderKLCogVideoX(V.load_vae_config("tiny")).eval()

    def latents(self, frames, batch=2, seed=0):
        return torch.randn(batch, 16, frames, 4, 6, generator=torch.Generator().manual_seed(seed))

    def test_nearest_resampling_is_interpolate(self):
        x = torch.randn(2, 3, 7, 4, 6)
        self.assertTrue(torch.equal(repeat_pixels(x, 2), F.interpolate(x, scale_factor=(1, 2, 2))))
        for t in (1, 2, 3, 4, 7):
            y = x[:, :, :t]
            if t == 1:
                want = y
            elif t % 2 == 0:
                want = F.interpolate(y, size=(4 * t,) + y.shape[-2:])
            else:
                want = torch.cat([y[:, :, :1], F.interpolate(y[:, :, 1:], size=(4 * (t - 1),) + y.shape[-2:])], dim=2)
            self.assertTrue(torch.equal(repeat_frames(y, 4), want), t)

    def test_chunk_bounds_are_diffusers(self):
        for n in range(1, 40):
            for b in (1, 2, 3, 4):
                want = [(b * i + (0 if i == 0 else n % b), min(b * (i + 1) + n % b, n)) for i in range(max(n // b, 1))]
                self.assertEqual(V.chunk_bounds(n, b), want, (n, b))
        self.assertEqual(V.chunk_bounds(13), [(0, 3), (3, 5), (5, 7), (7, 9), (9, 11), (11, 13)])

    def test_decode_is_diffusers_decode(self):
        with torch.no_grad():
            for f in (1, 2, 3, 4, 5, 13):
                z = self.latents(f, seed=f)
                got, want = self.vae.decode(z), ref_decode(self.vae, z)
                self.assertEqual(got.shape[2], 4 * (f - 1) + 1 if f % 2 else 4 * f)
                self.assertLessEqual(float((got - want).abs().max()), 1e-5, f)

    def test_one_pass_is_another_function(self):
        # the group norms see the chunk's frames: chunking is the published model, not a shortcut
        with torch.no_grad():
            z = self.latents(13)
            self.assertGreater(float((self.vae.decode(z) - self.vae.decode(z, None)).abs().max()), 1e-2)


@unittest.skipIf(X is None, "exporting needs %s" % (None if X else MISSING))
class StageGraphsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vae = X.random_vae(V.load_vae_config("tiny"), seed=5)

    def test_chunk_by_chunk_equals_the_whole_decode(self):
        with torch.no_grad():
            for f in (1, 3, 4, 13):
                z = torch.randn(2, f, 16, 4, 6, generator=torch.Generator().manual_seed(f))
                whole = self.vae.decode(z.permute(0, 2, 1, 3, 4)).permute(0, 2, 1, 3, 4)
                self.assertEqual(float((X.decode_chunked(self.vae, z) - whole).abs().max()), 0.0, f)

    def test_export_names_axes_and_casts(self):
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the tracer's warnings
            result = X.export_vae_decoder(self.vae, tmp)
            first_in, next_in, outputs = X.graph_names(self.vae.decoder)
            self.assertEqual(result["vae"], {"decoder": "vae_decoder.onnx", "scaling_factor": 1.15258426, "chunked": {"next": "vae_decoder_next.onnx", "frame_batch": 2}})
            self.assertEqual(result["latent"], {"channels": 16, "temporal_compression": 4, "spatial_compression": 8})
            self.assertEqual(sorted(os.listdir(tmp)), ["vae_decoder.onnx", "vae_decoder_next.onnx"])
            for rel, names in (("vae_decoder.onnx", first_in), ("vae_decoder_next.onnx", next_in)):
                model = onnx.load(os.path.join(tmp, rel))
                self.assertEqual([i.name for i in model.graph.input], names)
                self.assertEqual([o.name for o in model.graph.output], outputs)
                dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
                self.assertEqual(dims(model.graph.input[0]), ["batch", "latent_frames", 16, 4, 6])
                self.assertEqual(dims(model.graph.output[0])[:3], ["batch", "frames", 3])
                self.assertEqual(dims(model.graph.output[-1])[0], "batch")
                low = cast_graph(model, "float16")
                onnx.checker.check_model(low, full_check=True)
                self.assertEqual({i.type.tensor_type.elem_type for i in list(low.graph.input) + list(low.graph.output)}, {onnx.TensorProto.FLOAT})
                self.assertEqual({t.data_type for t in low.graph.initializer if t.data_type in (1, 10)}, {onnx.TensorProto.FLOAT16})
            with self.assertRaisesRegex(ValueError, "computes in float32 or float16, not 'bfloat16'"):
                X.export_vae_decoder(self.vae, tmp, dtype="bfloat16")
        self.assertEqual(outputs[1], "conv_cache_out.conv_in")
        self.assertEqual(next_in[-1], "conv_cache.conv_out")

    def test_parity_fixture(self):
        files = X.vae_parity_files(self.vae)
        first, nxt = files["vae_decoder.onnx"], files["vae_decoder_next.onnx"]
        self.assertEqual(first["inputs"]["latents"]["shape"], [1, 3, 16, 4, 6])
        self.assertEqual(first["outputs"]["frames"]["shape"], [1, 9, 3, 32, 48])
        self.assertEqual(nxt["outputs"]["frames"]["shape"], [1, 8, 3, 32, 48])
        self.assertEqual(len(nxt["inputs"]), 39)
        for key in self.vae.decoder.cache_keys:  # the next chunk's caches are the first chunk's, stored in full
            self.assertEqual(nxt["inputs"]["conv_cache." + key]["shape"], first["outputs"]["conv_cache_out." + key]["shape"])
            self.assertIn("data", nxt["inputs"]["conv_cache." + key])
        self.assertEqual(nxt["inputs"]["conv_cache.up_blocks.3.resnets.0.conv1"]["shape"], [1, 16, 2, 32, 48])

    def test_command_line_help(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as done:
            X.main(["--help"])
        self.assertEqual(done.exception.code, 0)
        self.assertIn("--reference", out.getvalue())


if __name__ == "__main__":
    unittest.main()
