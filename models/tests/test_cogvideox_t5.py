"""CogVideoX's text encoder: T5EncoderModel's keys and shapes, T5-XXL's size, the position buckets, the forward pass, the ONNX export."""

import math
import os
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch

from models.cogvideox import t5

try:
    import onnx

    from models.cogvideox import t5_onnx
except ModuleNotFoundError as err:  # onnx: a machine with torch alone still checks the module
    t5_onnx = None
    MISSING = err.name

# total_size of the published float16 T5-XXL encoder (text_encoder/model.safetensors.index.json,
# the same t5-v1_1-xxl encoder FLUX.1 and CogVideoX ship), in bytes: 2 per parameter
PUBLISHED_XXL_BYTES = 9_524_621_312


def published_keys(cfg):
    """The tensor names a published T5EncoderModel checkpoint file lists (transformers' naming)."""
    keys = ["shared.weight", "encoder.final_layer_norm.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    for i in range(cfg.num_layers):
        p = "encoder.block.%d.layer." % i
        keys += [p + "0.SelfAttention.%s.weight" % n for n in "qkvo"] + [p + "0.layer_norm.weight", p + "1.layer_norm.weight"]
        keys += [p + "1.DenseReluDense.%s.weight" % n for n in ("wi_0", "wi_1", "wo")]
    return sorted(keys)


def expected_shape(cfg, key):
    if key in ("shared.weight", "encoder.embed_tokens.weight"):
        return (cfg.vocab_size, cfg.d_model)
    if key.endswith("relative_attention_bias.weight"):
        return (cfg.relative_attention_num_buckets, cfg.num_heads)
    if key.endswith("layer_norm.weight"):
        return (cfg.d_model,)
    if key.endswith(("wi_0.weight", "wi_1.weight")):
        return (cfg.d_ff, cfg.d_model)
    if key.endswith("wo.weight"):
        return (cfg.d_model, cfg.d_ff)
    if key.endswith(("q.weight", "k.weight", "v.weight")):
        return (cfg.num_heads * cfg.d_kv, cfg.d_model)
    if key.endswith("o.weight"):
        return (cfg.d_model, cfg.num_heads * cfg.d_kv)
    raise KeyError(key)


def direct_bucket(rp, num_buckets, max_distance):
    """Mesh TensorFlow's bidirectional bucket, written out with math.log on one integer."""
    half = num_buckets // 2
    bucket = half if rp > 0 else 0
    n = abs(rp)
    exact = half // 2
    if n < exact:
        return bucket + n
    large = exact + int(math.log(n / exact) / math.log(max_distance / exact) * (half - exact))
    return bucket + min(large, half - 1)


class KeysAndSizeTest(unittest.TestCase):
    def check_layout(self, name):
        cfg = t5.load_t5_config(name)
        model = t5.T5Encoder(cfg, device="meta")
        self.assertEqual(sorted(t5.checkpoint_keys(model)), published_keys(cfg))
        state = model.state_dict()
        self.assertEqual(set(state), set(published_keys(cfg)) | {"encoder.embed_tokens.weight"})
        for key, value in state.items():
            self.assertEqual(tuple(value.shape), expected_shape(cfg, key), key)
        return cfg, model

    def test_tiny_config_has_the_published_layout(self):
        cfg, _ = self.check_layout("tiny")
        self.assertEqual((cfg.d_model, cfg.num_layers, cfg.num_heads, cfg.d_kv, cfg.d_ff, cfg.vocab_size), (32, 2, 2, 16, 64, 1152))

    def test_t5_xxl_parameter_count_is_the_published_size(self):
        cfg, model = self.check_layout("xxl")
        self.assertEqual((cfg.d_model, cfg.num_layers, cfg.num_heads, cfg.d_kv, cfg.d_ff, cfg.vocab_size), (4096, 24, 64, 64, 10240, 32128))
        self.assertEqual(t5.count_parameters(model), 4_762_310_656)
        self.assertEqual(2 * t5.count_parameters(model), PUBLISHED_XXL_BYTES)

    def test_embedding_is_tied(self):
        model = t5.T5Encoder(t5.load_t5_config("tiny"))
        state = model.state_dict()
        self.assertIs(model.encoder.embed_tokens, model.shared)
        self.assertEqual(state["shared.weight"].data_ptr(), state["encoder.embed_tokens.weight"].data_ptr())

    def test_only_the_v1_1_encoder_is_accepted(self):
        with open(os.path.join(t5.CONFIG_DIR, "text_encoder-tiny.json"), encoding="utf-8") as f:
            import json

            d = json.load(f)
        with self.assertRaisesRegex(t5.T5ConfigError, "gated-gelu"):
            t5.t5_config_from_dict({**d, "feed_forward_proj": "relu", "dense_act_fn": "relu"})
        with self.assertRaisesRegex(t5.T5ConfigError, "d_kv"):
            t5.t5_config_from_dict({k: v for k, v in d.items() if k != "d_kv"})


class RelativePositionTest(unittest.TestCase):
    def test_buckets_match_a_direct_computation(self):
        for num_buckets, max_distance in ((32, 128), (16, 64), (8, 20), (64, 512)):
            rp = torch.arange(-700, 701)
            got = t5.relative_position_bucket(rp, num_buckets, max_distance).tolist()
            want = [direct_bucket(int(r), num_buckets, max_distance) for r in rp]
            self.assertEqual(got, want, (num_buckets, max_distance))

    def test_the_table_covers_every_offset(self):
        # the ONNX graph clips offsets to ±max_distance and looks them up: the same bucket for every offset
        for num_buckets, max_distance in ((32, 128), (16, 64)):
            table = t5.relative_position_table(num_buckets, max_distance)
            rp = torch.arange(-2000, 2001)
            clipped = torch.clamp(rp, -max_distance, max_distance) + max_distance
            self.assertTrue(torch.equal(table[clipped], t5.relative_position_bucket(rp, num_buckets, max_distance)))
            # every bucket is used but "after, offset 0" (offset 0 has the "before" half's bucket 0)
            self.assertEqual(set(table.tolist()), set(range(num_buckets)) - {num_buckets // 2})


def reference_forward(state, cfg, ids):
    """The encoder in float64 numpy, from the checkpoint tensors (an independent reading of T5 v1.1)."""
    w = {k: v.double().numpy() for k, v in state.items()}
    n = ids.shape[1]

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg.layer_norm_epsilon) * g

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    buckets = np.array([[direct_bucket(j - i, cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance) for j in range(n)] for i in range(n)])
    bias = w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][buckets].transpose(2, 0, 1)
    x = w["shared.weight"][ids.numpy()]
    for i in range(cfg.num_layers):
        p = "encoder.block.%d.layer." % i
        h = rms(x, w[p + "0.layer_norm.weight"])
        q, k, v = (
            (h @ w[p + "0.SelfAttention.%s.weight" % c].T).reshape(x.shape[0], n, cfg.num_heads, cfg.d_kv).transpose(0, 2, 1, 3) for c in "qkv"
        )
        s = q @ k.transpose(0, 1, 3, 2) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        x = x + a.transpose(0, 2, 1, 3).reshape(x.shape[0], n, -1) @ w[p + "0.SelfAttention.o.weight"].T
        h = rms(x, w[p + "1.layer_norm.weight"])
        g = gelu(h @ w[p + "1.DenseReluDense.wi_0.weight"].T) * (h @ w[p + "1.DenseReluDense.wi_1.weight"].T)
        x = x + g @ w[p + "1.DenseReluDense.wo.weight"].T
    return rms(x, w["encoder.final_layer_norm.weight"])


class ForwardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = t5.load_t5_config("tiny")
        cls.model = t5.init_t5_weights(t5.T5Encoder(cls.cfg), seed=3).eval()

    def test_matches_a_float64_reference(self):
        ids = torch.randint(0, self.cfg.vocab_size, (2, 150), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            out = self.model(ids).double().numpy()
        ref = reference_forward(self.model.state_dict(), self.cfg, ids)
        self.assertEqual(out.shape, (2, 150, 32))
        self.assertLess(np.abs(out - ref).max(), 1e-4)
        self.assertGreater(np.abs(ref).mean(), 0.3)

    def test_loads_a_published_style_state(self):
        state = {k: v.clone().half() for k, v in self.model.state_dict().items() if k != "encoder.embed_tokens.weight"}
        other = t5.load_t5_state(t5.T5Encoder(self.cfg), state)
        self.assertTrue(torch.equal(other.encoder.embed_tokens.weight, state["shared.weight"].float()))
        self.assertTrue(torch.equal(other.encoder.block[1].layer[1].DenseReluDense.wo.weight, state["encoder.block.1.layer.1.DenseReluDense.wo.weight"].float()))

    def test_a_state_that_does_not_fit_is_refused_by_name(self):
        state = dict(self.model.state_dict())
        del state["encoder.block.1.layer.0.SelfAttention.k.weight"]
        with self.assertRaisesRegex(t5.T5ConfigError, "missing.*block.1.layer.0.SelfAttention.k.weight"):
            t5.load_t5_state(t5.T5Encoder(self.cfg), state)
        state = dict(self.model.state_dict(), **{"shared.weight": torch.zeros(10, 32), "lm_head.weight": torch.zeros(1)})
        with self.assertRaisesRegex(t5.T5ConfigError, "unexpected.*lm_head.*shared.weight"):
            t5.load_t5_state(t5.T5Encoder(self.cfg), state)


@unittest.skipIf(t5_onnx is None, "the ONNX export needs %s" % (MISSING if t5_onnx is None else ""))
class OnnxExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cfg = t5.load_t5_config("tiny")
        cls.model = t5.init_t5_weights(t5.T5Encoder(cls.cfg), seed=1).eval()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def export(self, name, **kwargs):
        path = os.path.join(self.tmp.name, name, "text_encoder.onnx")
        info = t5_onnx.export_t5_module(self.model, path, **kwargs)
        return info, onnx.load(path, load_external_data=False)

    def test_interface_and_checkpoint_names(self):
        info, m = self.export("f32")
        self.assertIsNone(info["data"])
        self.assertEqual([i.name for i in m.graph.input], ["input_ids"])
        self.assertEqual([o.name for o in m.graph.output], ["hidden_states"])
        dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (m.graph.input[0], m.graph.output[0])]
        self.assertEqual(dims, [["batch", "sequence"], ["batch", "sequence", 32]])
        names = {t.name for t in m.graph.initializer}
        self.assertTrue(set(t5.checkpoint_keys(self.model)) <= names)
        state = self.model.state_dict()
        for t in m.graph.initializer:
            if t.name in state:  # stored in the checkpoint's own layout
                self.assertTrue(np.array_equal(onnx.numpy_helper.to_array(t), state[t.name].numpy()), t.name)

    def test_float16_keeps_the_overflow_prone_parts_float32(self):
        info, m = self.export("f16", dtype="float16")
        kinds = {t.name: t.data_type for t in m.graph.initializer if t.name in set(t5.checkpoint_keys(self.model))}
        for name, kind in kinds.items():
            wide = name.endswith(("wo.weight", "layer_norm.weight", "relative_attention_bias.weight"))
            self.assertEqual(kind, onnx.TensorProto.FLOAT if wide else onnx.TensorProto.FLOAT16, name)
        self.assertEqual(m.graph.output[0].type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
        read = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
        self.assertEqual([n.name for n in m.graph.node if not set(n.output) & read], [])  # every cast is used
        # per block one cast into float16 per activation read by projections (x, attention, x) and one back per projection
        casts = sum(n.op_type == "Cast" for n in m.graph.node)
        self.assertEqual(casts, 1 + self.cfg.num_layers * (3 + 6))
        self.assertLess(info["weight_bytes"], t5_onnx.export_t5_module(self.model, os.path.join(self.tmp.name, "x.onnx"))["weight_bytes"])

    def test_external_data_holds_the_exact_weights_at_aligned_offsets(self):
        info, m = self.export("ext", external_data=True)
        self.assertEqual(info["data"], "text_encoder.onnx.data")
        data_path = os.path.join(self.tmp.name, "ext", info["data"])
        with open(data_path, "rb") as f:
            blob = f.read()
        state = self.model.state_dict()
        external = [t for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        self.assertEqual({t.name for t in external}, set(t5.checkpoint_keys(self.model)))
        for t in external:
            meta = {e.key: e.value for e in t.external_data}
            offset, length = int(meta["offset"]), int(meta["length"])
            self.assertEqual((meta["location"], offset % 4096), ("text_encoder.onnx.data", 0))
            array = np.frombuffer(blob[offset:offset + length], dtype=np.float32).reshape(tuple(t.dims))
            self.assertTrue(np.array_equal(array, state[t.name].numpy()), t.name)
        self.assertLess(os.path.getsize(os.path.join(self.tmp.name, "ext", "text_encoder.onnx")), len(blob) / 8)

    def test_size_decides_external_data_unless_told(self):
        with mock.patch.object(t5_onnx, "EXTERNAL_DATA_THRESHOLD", 1000):
            info, _ = self.export("auto")
            self.assertEqual(info["data"], "text_encoder.onnx.data")
            with self.assertRaisesRegex(t5_onnx.TextEncoderExportError, "external data"):
                self.export("refused", external_data=False)
        info, _ = self.export("auto")  # small again: one file, the stale .data removed
        self.assertIsNone(info["data"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "auto", "text_encoder.onnx.data")))

    def test_weights_that_do_not_fit_are_refused(self):
        state = dict(self.model.state_dict())
        del state["encoder.final_layer_norm.weight"]
        with self.assertRaisesRegex(t5_onnx.TextEncoderExportError, "final_layer_norm"):
            t5_onnx.export_text_encoder(state, self.cfg, os.path.join(self.tmp.name, "bad", "t.onnx"))
        with self.assertRaisesRegex(t5_onnx.TextEncoderExportError, "dtype"):
            t5_onnx.export_text_encoder(self.model.state_dict(), self.cfg, os.path.join(self.tmp.name, "bad", "t.onnx"), dtype="bfloat16")
