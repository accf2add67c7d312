"""The transformer's block graphs attend with one com.microsoft::MultiHeadAttention node, never a score matrix.

Whether the graphs compute what PyTorch computes is checked in onnxruntime-node by
``stages/test/cogvideox-transformer.test.ts``; here, what the graphs hold: the
operator and its attributes, the opset imports, and, from onnx's shape inference
at a concrete batch and sequence, that no tensor has two sequence dimensions
(the same check finds the [B, heads, S, S] scores of a graph exported with the
plain math, so it can fail).
"""

import contextlib
import io
import math
import os
import tempfile
import unittest
import warnings
from unittest import mock

import numpy as np
import torch

from models.cogvideox import transformer
from models.cogvideox.fused_attention import multi_head_attention
from models.cogvideox.transformer import BlockStage, HeadStage, load_transformer_config

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from models.cogvideox import transformer_export as tx
except ModuleNotFoundError as err:
    onnx = tx = None
    MISSING = err.name
else:
    MISSING = None


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the ONNX exporter's tracer warnings
        return fn(*args, **kwargs)


# The integer arithmetic torch writes to compute shapes at run time (x.shape[0], chunk sizes, ...).
_SHAPE_OPS = {
    "Gather": lambda n, data, idx: np.take(data, idx, axis=_attr(n, "axis", 0)),
    "Unsqueeze": lambda n, x, axes: np.expand_dims(x, tuple(int(a) for a in axes)),
    "Concat": lambda n, *xs: np.concatenate(xs, axis=_attr(n, "axis", 0)),
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a // b if a.dtype.kind == "i" else a / b,
}


def _attr(node, name, default):
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def concrete_shapes(model, dims):
    """{tensor: shape} of every node output once the inputs' named dims are fixed; None where unknown.

    onnx 1.12's shape inference reads only initializers as data and cannot follow
    the shape arithmetic torch writes (Shape, Gather, Div, ...), so this folds
    Constant nodes and that arithmetic into initializers, runs the inference again,
    and repeats until nothing more folds. MultiHeadAttention has no schema in onnx:
    its output takes the shape its documentation gives, [B, S of the query, hidden
    of the value].
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for vi in g.input:
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_value = dims[d.dim_param]
    del g.value_info[:]
    computed = {}  # folded node outputs: they stay in the answer

    def shape(t):
        return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim] if t.HasField("shape") else None

    while True:
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True).graph
        types = {v.name: v.type.tensor_type for v in list(inferred.value_info) + list(inferred.input) + list(inferred.output)}
        data = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        keep, folded = [], False
        for n in g.node:
            value = None
            if n.op_type == "Constant" and n.attribute[0].name == "value":
                value = numpy_helper.to_array(n.attribute[0].t)
            elif n.op_type == "Shape" and n.input[0] in types and None not in (shape(types[n.input[0]]) or [None]):
                value = np.array(shape(types[n.input[0]]), dtype=np.int64)
            elif n.op_type in _SHAPE_OPS and all(i in data for i in n.input):
                value = np.asarray(_SHAPE_OPS[n.op_type](n, *(data[i] for i in n.input)))
            elif n.op_type == "MultiHeadAttention" and n.output[0] not in types and all(i in types for i in n.input):
                q, v = shape(types[n.input[0]]), shape(types[n.input[2]])
                if q is None or v is None:
                    keep.append(n)
                    continue
                g.value_info.append(helper.make_tensor_value_info(n.output[0], types[n.input[0]].elem_type, q[:2] + v[2:]))
                folded = True
            if value is None:
                keep.append(n)
                continue
            g.initializer.append(numpy_helper.from_array(value, n.output[0]))
            data[n.output[0]] = value
            computed[n.output[0]] = list(value.shape)
            folded = True
        del g.node[:]
        g.node.extend(keep)
        if not folded:
            break
    out = dict(computed)
    for n in g.node:
        for name in n.output:
            out[name] = shape(types[name]) if name in types else None
    return out


@unittest.skipIf(tx is None, "exporting needs %s" % MISSING)
class FusedAttentionGraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.models = {}
        for kind in ("2b", "5b"):
            cfg = load_transformer_config("transformer-%s-tiny" % kind)
            cls.models[kind] = tx.random_transformer(cfg)
            quiet(tx.export_transformer, cls.models[kind], os.path.join(cls.tmp.name, kind))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def graph(self, kind, rel):
        return onnx.load(os.path.join(self.tmp.name, kind, rel))

    def test_eager_op_is_the_modules_attention(self):
        cfg = load_transformer_config("transformer-5b-tiny")
        attn = self.models["5b"].transformer_blocks[0].attn1
        g = torch.Generator().manual_seed(0)
        x = torch.randn(2, 226 + 48, cfg.inner_dim, generator=g)
        cos, sin = tx.rotary_tables(cfg, 8, 12, 2)
        with torch.no_grad():
            want = attn(x, 226, (cos, sin))
            with mock.patch.object(transformer, "exporting", lambda: True):
                got = attn(x, 226, (cos, sin))  # q, k, v [B, S, hidden] through multi_head_attention
        self.assertLess((got - want).abs().max().item(), 1e-6)
        # the operator's layout: head h is channels h·head_dim … (h+1)·head_dim of D
        q, k, v = (torch.randn(1, 5, 32, dtype=torch.float64, generator=g) for _ in range(3))
        split = lambda t: t.reshape(1, 5, 2, 16).transpose(1, 2)
        ref = (torch.softmax(split(q) @ split(k).transpose(-1, -2) * 0.25, -1) @ split(v)).transpose(1, 2).reshape(1, 5, 32)
        self.assertTrue(torch.allclose(multi_head_attention(q, k, v, 2, 0.25), ref, atol=1e-12))

    def test_one_multi_head_attention_node_per_block(self):
        for kind in ("2b", "5b"):
            cfg = self.models[kind].config
            for i in range(cfg.num_layers):
                with self.subTest(kind=kind, block=i):
                    m = self.graph(kind, tx.block_file(i))
                    self.assertEqual({(o.domain, o.version) for o in m.opset_import}, {("", 17), ("com.microsoft", 1)})
                    self.assertEqual(m.opset_import[0].domain, "")
                    mha = [n for n in m.graph.node if n.op_type == "MultiHeadAttention"]
                    self.assertEqual(len(mha), 1)
                    self.assertEqual(mha[0].domain, "com.microsoft")
                    self.assertEqual(len(mha[0].input), 3)
                    attrs = {a.name: helper.get_attribute_value(a) for a in mha[0].attribute}
                    self.assertEqual(attrs["num_heads"], cfg.num_attention_heads)
                    self.assertAlmostEqual(attrs["scale"], 1 / math.sqrt(cfg.attention_head_dim), places=7)
                    ops = {n.op_type for n in m.graph.node}
                    self.assertNotIn("Softmax", ops)
                    self.assertEqual({n.domain for n in m.graph.node}, {"", "com.microsoft"})
            for rel in (tx.EMBED, tx.HEAD):
                self.assertEqual([(o.domain, o.version) for o in self.graph(kind, rel).opset_import], [("", 17)])

    def test_no_tensor_has_two_sequence_dimensions(self):
        for kind in ("2b", "5b"):
            cfg = self.models[kind].config
            video = 3 * (8 // 2) * (12 // 2)  # 3 latent frames of an 8 x 12 latent grid
            s = cfg.max_text_seq_length + video
            with self.subTest(kind=kind):
                m = self.graph(kind, tx.block_file(1))
                shapes = concrete_shapes(m, {"batch": 2, "sequence": s, "video_tokens": video})
                # every tensor's rank is known, and every dimension of all but 1-D shape vectors
                self.assertNotIn(None, shapes.values())
                self.assertEqual([n for n, sh in shapes.items() if len(sh) > 1 and None in sh], [])
                self.assertEqual([(n, sh) for n, sh in shapes.items() if sh.count(s) >= 2], [])
                # the inference reaches the per-head queries and keys (LayerNorm over head_dim)
                self.assertIn([2, cfg.num_attention_heads, s, cfg.attention_head_dim], shapes.values())
                mha = next(n for n in m.graph.node if n.op_type == "MultiHeadAttention")
                self.assertEqual([shapes[n] for n in list(mha.input) + list(mha.output)], [[2, s, cfg.inner_dim]] * 4)

    def test_the_check_finds_the_scores_of_the_plain_math(self):
        model = self.models["5b"]
        cfg = model.config
        with tempfile.TemporaryDirectory() as out, mock.patch.object(transformer, "exporting", lambda: False):
            path = quiet(tx.export_stage, BlockStage(model, 0), "block", tx.block_file(0), cfg, out, 8, 12)
            m = onnx.load(path)
        self.assertNotIn("MultiHeadAttention", {n.op_type for n in m.graph.node})
        s = cfg.max_text_seq_length + 24
        shapes = concrete_shapes(m, {"batch": 2, "sequence": s, "video_tokens": 24})
        scores = [sh for sh in shapes.values() if sh and sh.count(s) >= 2]
        self.assertIn([2, cfg.num_attention_heads, s, s], scores)

    def test_reduced_precision_blocks_keep_the_operator_in_their_type(self):
        model = self.models["5b"]
        cfg = model.config
        target = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}
        for dtype in ("fp16", "bf16"):
            with self.subTest(dtype), tempfile.TemporaryDirectory() as out:
                path = quiet(tx.export_stage, BlockStage(model, 0), "block", tx.block_file(0), cfg, out, 8, 12, dtype)
                quiet(tx.export_stage, HeadStage(model, 8, 12), "head", tx.HEAD, cfg, out, 8, 12, dtype)
                onnx.checker.check_model(path, full_check=True)
                m = onnx.load(path)
                mha = [n for n in m.graph.node if n.op_type == "MultiHeadAttention"]
                self.assertEqual(len(mha), 1)
                attrs = {a.name: helper.get_attribute_value(a) for a in mha[0].attribute}
                self.assertEqual(attrs["num_heads"], 2)
                self.assertAlmostEqual(attrs["scale"], 0.25)
                inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True).graph
                types = {v.name: v.type.tensor_type.elem_type for v in inferred.value_info}
                self.assertEqual({types[n] for n in list(mha[0].input) + list(mha[0].output)}, {target[dtype]})


if __name__ == "__main__":
    unittest.main()
