"""``text_encoder.onnx`` of a T5 v1.1 encoder, written node by node from the checkpoint's tensors.

The graph is built here rather than traced, so that T5-XXL (4.76 B parameters,
9.5 GB in float16) exports one tensor at a time: ``weights`` may be any mapping
name → tensor (a ``state_dict()``, or a lazy reader over the published
safetensors files), each is converted and written once, and nothing else of the
model is held. Initializers keep the checkpoint's names and layouts (``Gemm``
with ``transB`` reads ``[out, in]`` weights as stored).

Interface: ``input_ids`` int64 [batch, sequence] → ``hidden_states`` float32
[batch, sequence, d_model], both axes dynamic. The relative position bias is
computed in the graph for any length: offsets are clipped to
±relative_attention_max_distance and their buckets looked up in a table made
by ``t5.relative_position_table`` (the same float32 arithmetic as PyTorch).

``dtype="float16"`` stores the embedding and the attention and input projections
in float16 and runs those matrix products in float16; the residual stream, the
norms, the softmax and the feed-forward output projection ``wo`` stay float32,
as transformers keeps ``wo`` in float32 for float16 T5 (its activations
overflow float16). Inputs and outputs are float32 either way.

Weights beyond ``EXTERNAL_DATA_THRESHOLD`` bytes go to ``<file>.data`` beside the
graph (ONNX external data, offsets aligned to 4 KiB), which onnxruntime finds by
its path relative to the ``.onnx``; ``external_data=True`` forces that layout.
"""

import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.cogvideox.t5 import relative_position_table
from models.lib.parity import _tensor as parity_tensor

OPSET = 17
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 27  # protobuf's 2 GiB limit, less room for the graph itself
ALIGN = 4096
DTYPES = {"float32": (np.float32, TensorProto.FLOAT), "float16": (np.float16, TensorProto.FLOAT16)}
KEEP_FP32 = ("DenseReluDense.wo.weight",)
INPUT, OUTPUT = "input_ids", "hidden_states"


class TextEncoderExportError(ValueError):
    """The export cannot be written as asked."""


def linear_keys(cfg):
    """Checkpoint names of every projection (the tensors ``dtype`` applies to)."""
    keys = []
    for i in range(cfg.num_layers):
        p = "encoder.block.%d.layer." % i
        keys += [p + "0.SelfAttention.%s.weight" % n for n in "qkvo"]
        keys += [p + "1.DenseReluDense.%s.weight" % n for n in ("wi_0", "wi_1", "wo")]
    return keys


def weight_shapes(cfg):
    """name → shape of every tensor the graph reads (``shared.weight`` for the tied embedding)."""
    shapes = {"shared.weight": (cfg.vocab_size, cfg.d_model), "encoder.final_layer_norm.weight": (cfg.d_model,)}
    shapes["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (cfg.relative_attention_num_buckets, cfg.num_heads)
    for i in range(cfg.num_layers):
        p = "encoder.block.%d.layer." % i
        for n in "qkv":
            shapes[p + "0.SelfAttention.%s.weight" % n] = (cfg.inner_dim, cfg.d_model)
        shapes[p + "0.SelfAttention.o.weight"] = (cfg.d_model, cfg.inner_dim)
        shapes[p + "0.layer_norm.weight"] = (cfg.d_model,)
        shapes[p + "1.DenseReluDense.wi_0.weight"] = (cfg.d_ff, cfg.d_model)
        shapes[p + "1.DenseReluDense.wi_1.weight"] = (cfg.d_ff, cfg.d_model)
        shapes[p + "1.DenseReluDense.wo.weight"] = (cfg.d_model, cfg.d_ff)
        shapes[p + "1.layer_norm.weight"] = (cfg.d_model,)
    return shapes


def _storage(name, dtype, keep_fp32):
    """numpy and ONNX element types a checkpoint tensor is stored with."""
    if dtype == "float32" or name.endswith("layer_norm.weight") or "relative_attention_bias" in name:
        return DTYPES["float32"]
    if any(name.endswith(k) for k in keep_fp32):
        return DTYPES["float32"]
    return DTYPES[dtype]


def _numpy(value):
    if hasattr(value, "detach"):  # torch tensor of any float dtype (bfloat16 has no numpy twin)
        import torch

        return value.detach().to(torch.float32).cpu().numpy()
    return np.asarray(value)


class _Writer:
    """Nodes and initializers; checkpoint tensors inline or appended to the external data file."""

    def __init__(self, data_path):
        self.nodes, self.initializers, self.consts, self.count = [], [], set(), 0
        self.data_path = data_path
        self.data = open(data_path, "wb") if data_path else None

    def close(self):
        if self.data:
            self.data.close()

    def node(self, op, inputs, name=None, **attrs):
        self.count += 1
        out = name or "%s_%d" % (op.lower(), self.count)
        self.nodes.append(helper.make_node(op, inputs, [out], name="%s_%d" % (op, self.count), **attrs))
        return out

    def const(self, name, array):
        if name not in self.consts:
            self.consts.add(name)
            self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def tensor(self, name, array, np_dtype, onnx_dtype):
        array = np.ascontiguousarray(array, dtype=np_dtype)
        if self.data is None:
            self.initializers.append(numpy_helper.from_array(array, name))
            return name
        offset = self.data.tell()
        pad = -offset % ALIGN
        if pad:
            self.data.write(b"\0" * pad)
            offset += pad
        self.data.write(array.tobytes())
        t = TensorProto()
        t.name, t.data_type = name, onnx_dtype
        t.dims.extend(array.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", os.path.basename(self.data_path)), ("offset", str(offset)), ("length", str(array.nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(t)
        return name


def export_text_encoder(weights, cfg, path, dtype="float32", external_data=None, keep_fp32=KEEP_FP32):
    """Write the encoder of ``cfg`` with ``weights`` (name → tensor) to ``path``.

    ``external_data``: None decides by size, True forces ``<file>.data``, False
    refuses a graph over the limit. Returns ``{"path", "data", "dtype", "weight_bytes"}``
    (``data`` the external data file name, or None).
    """
    if dtype not in DTYPES:
        raise TextEncoderExportError("dtype %r: use one of %s" % (dtype, sorted(DTYPES)))
    shapes = weight_shapes(cfg)
    total = sum(int(np.prod(s)) * np.dtype(_storage(k, dtype, keep_fp32)[0]).itemsize for k, s in shapes.items())
    external = total > EXTERNAL_DATA_THRESHOLD if external_data is None else bool(external_data)
    if total > EXTERNAL_DATA_THRESHOLD and not external:
        raise TextEncoderExportError("%d bytes of weights exceed the 2 GiB a single ONNX file holds; allow external data" % total)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data_path = path + ".data" if external else None
    if not external and os.path.exists(path + ".data"):
        os.remove(path + ".data")
    w = _Writer(data_path)
    try:
        graph = _build(w, weights, cfg, shapes, dtype, keep_fp32)
    finally:
        w.close()
    model = helper.make_model(graph, producer_name="spool-models", opset_imports=[helper.make_opsetid("", OPSET)])
    model.doc_string = "T5 v1.1 encoder (%d layers, d_model %d), weights %s" % (cfg.num_layers, cfg.d_model, dtype)
    onnx.save_model(model, path)
    onnx.checker.check_model(path)  # by path: also checks the external data references
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)  # the graph alone, types and shapes
    return {"path": path, "data": os.path.basename(data_path) if data_path else None, "dtype": dtype, "weight_bytes": total}


def export_t5_module(model, path, **kwargs):
    """``export_text_encoder`` with the weights of a ``t5.T5Encoder``."""
    return export_text_encoder(model.state_dict(), model.config, path, **kwargs)


def i64(v):
    return np.array(v, dtype=np.int64)


def f32(v):
    return np.array(v, dtype=np.float32)


def _build(w, weights, cfg, shapes, dtype, keep_fp32):
    def weight(name):
        source = name
        if name == "shared.weight" and name not in weights and "encoder.embed_tokens.weight" in weights:
            source = "encoder.embed_tokens.weight"
        try:
            array = _numpy(weights[source])
        except KeyError:
            raise TextEncoderExportError("the weights lack %s" % name) from None
        if tuple(array.shape) != shapes[name]:
            raise TextEncoderExportError("%s has shape %s, the config needs %s" % (name, tuple(array.shape), shapes[name]))
        return w.tensor(name, array, *_storage(name, dtype, keep_fp32))

    D, H, M = cfg.d_model, cfg.num_heads, cfg.relative_attention_max_distance
    shape_bl = w.node("Shape", [INPUT])
    shape_heads = w.node("Concat", [shape_bl, w.const("heads_shape", i64([H, cfg.d_kv]))], axis=0)
    shape_out = w.node("Concat", [shape_bl, w.const("model_shape", i64([D]))], axis=0)
    flat_inner = w.const("flat_inner", i64([-1, cfg.inner_dim]))
    eps = w.const("layer_norm_epsilon", f32(cfg.layer_norm_epsilon))

    # position bias [1, H, L, L], shared by every block
    length = w.node("Gather", [shape_bl, w.const("one", i64(1))], axis=0)
    pos = w.node("Range", [w.const("zero", i64(0)), length, "one"])
    rel = w.node("Sub", [w.node("Unsqueeze", [pos, w.const("axis0", i64([0]))]), w.node("Unsqueeze", [pos, w.const("axis1", i64([1]))])])
    rel = w.node("Max", [w.node("Min", [rel, w.const("max_distance", i64(M))]), w.const("min_distance", i64(-M))])
    table = w.const("relative_position_buckets", relative_position_table(cfg.relative_attention_num_buckets, M).numpy())
    buckets = w.node("Gather", [table, w.node("Add", [rel, "max_distance"])], axis=0)
    bias = w.node("Gather", [weight("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"), buckets], axis=0)
    bias = w.node("Unsqueeze", [w.node("Transpose", [bias], perm=[2, 0, 1]), "axis0"], name="position_bias")

    def to_float(x, stored):
        return x if stored == TensorProto.FLOAT else w.node("Cast", [x], to=TensorProto.FLOAT)

    cast16 = {}

    def linear(x, name):
        stored = _storage(name, dtype, keep_fp32)[1]
        if stored != TensorProto.FLOAT:
            if x not in cast16:  # one cast per activation, shared by the projections that read it
                cast16[x] = w.node("Cast", [x], to=stored)
            x = cast16[x]
        return to_float(w.node("Gemm", [x, weight(name)], transB=1), stored)

    def rms_norm(x, name):
        var = w.node("ReduceMean", [w.node("Mul", [x, x])], axes=[-1], keepdims=1)
        y = w.node("Div", [x, w.node("Sqrt", [w.node("Add", [var, eps])])])
        return w.node("Mul", [y, weight(name)])

    def gelu_new(x):
        cube = w.node("Mul", [w.node("Mul", [x, x]), x])
        inner = w.node("Add", [x, w.node("Mul", [cube, w.const("gelu_c", f32(0.044715))])])
        t = w.node("Tanh", [w.node("Mul", [inner, w.const("gelu_s", f32(math.sqrt(2.0 / math.pi)))])])
        return w.node("Mul", [w.node("Mul", [x, w.const("half", f32(0.5))]), w.node("Add", [t, w.const("unit", f32(1.0))])])

    def split_heads(x, perm):
        return w.node("Transpose", [w.node("Reshape", [x, shape_heads])], perm=perm)

    emb_stored = _storage("shared.weight", dtype, keep_fp32)[1]
    h = to_float(w.node("Gather", [weight("shared.weight"), INPUT], axis=0), emb_stored)
    h = w.node("Reshape", [h, w.const("flat_model", i64([-1, D]))])
    for i in range(cfg.num_layers):
        p = "encoder.block.%d.layer." % i
        x = rms_norm(h, p + "0.layer_norm.weight")
        q = split_heads(linear(x, p + "0.SelfAttention.q.weight"), [0, 2, 1, 3])
        k = split_heads(linear(x, p + "0.SelfAttention.k.weight"), [0, 2, 3, 1])
        v = split_heads(linear(x, p + "0.SelfAttention.v.weight"), [0, 2, 1, 3])
        scores = w.node("Add", [w.node("MatMul", [q, k]), bias])  # T5 does not scale the scores
        att = w.node("MatMul", [w.node("Softmax", [scores], axis=-1), v])
        att = w.node("Reshape", [w.node("Transpose", [att], perm=[0, 2, 1, 3]), flat_inner])
        h = w.node("Add", [h, linear(att, p + "0.SelfAttention.o.weight")])
        x = rms_norm(h, p + "1.layer_norm.weight")
        gated = w.node("Mul", [gelu_new(linear(x, p + "1.DenseReluDense.wi_0.weight")), linear(x, p + "1.DenseReluDense.wi_1.weight")])
        h = w.node("Add", [h, linear(gated, p + "1.DenseReluDense.wo.weight")])
    out = w.node("Reshape", [rms_norm(h, "encoder.final_layer_norm.weight"), shape_out], name=OUTPUT)
    return helper.make_graph(
        w.nodes,
        "t5_encoder",
        [helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", "sequence", D])],
        initializer=w.initializers,
    )


def text_encoder_parity(model, input_ids, full_limit=2048):
    """The ``parity.json`` entry of ``text_encoder.onnx``: ``input_ids`` and the PyTorch ``hidden_states``."""
    import torch

    model.eval()
    with torch.no_grad():
        out = model(input_ids)
    return {"inputs": {INPUT: parity_tensor(input_ids, True, full_limit)}, "outputs": {OUTPUT: parity_tensor(out, False, full_limit)}}
