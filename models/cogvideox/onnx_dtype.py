"""Casting an exported float32 ONNX graph to compute in float16 or bfloat16 with float32 inputs and outputs.

torch 1.13 cannot trace half-precision convolutions on the CPU, so graphs are exported in
float32 and converted here: float initializers and constants become the target type, every
float graph input is cast to it on entry and every float output back to float32 on exit, and
Casts to float inside the graph cast to the target instead. The stage contract stays float32.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16}


def _bfloat16_tensor(array, name):
    """float32 array -> BFLOAT16 TensorProto (round to nearest even)."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    t = TensorProto(name=name, data_type=TensorProto.BFLOAT16, dims=list(array.shape))
    t.raw_data = rounded.tobytes()
    return t


def _convert_tensor(t, target):
    if t.data_type != TensorProto.FLOAT:
        return t
    array = numpy_helper.to_array(t)
    if target == TensorProto.FLOAT16:
        return numpy_helper.from_array(array.astype(np.float16), t.name)
    return _bfloat16_tensor(array, t.name)


def cast_graph(model, dtype):
    """A copy of ``model`` computing in ``dtype`` ('float16' | 'bfloat16'; 'float32' returns it unchanged)."""
    if dtype not in DTYPES:
        raise ValueError("dtype must be one of %s, not %r" % (", ".join(DTYPES), dtype))
    if dtype == "float32":
        return model
    target = DTYPES[dtype]
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    for i, t in enumerate(g.initializer):
        g.initializer[i].CopyFrom(_convert_tensor(t, target))
    for node in g.node:
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = target
            elif a.type == onnx.AttributeProto.TENSOR:
                a.t.CopyFrom(_convert_tensor(a.t, target))
    entry, renamed = [], {}
    for inp in g.input:
        if inp.type.tensor_type.elem_type == TensorProto.FLOAT:
            renamed[inp.name] = "%s.%s" % (inp.name, dtype)
            entry.append(helper.make_node("Cast", [inp.name], [renamed[inp.name]], to=target, name="cast_in." + inp.name))
    for node in g.node:
        node.input[:] = [renamed.get(n, n) for n in node.input]
    exits = []
    for o in g.output:
        if o.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = "%s.%s" % (o.name, dtype)
        for node in g.node:
            node.output[:] = [inner if n == o.name else n for n in node.output]
            node.input[:] = [inner if n == o.name else n for n in node.input]
        exits.append(helper.make_node("Cast", [inner], [o.name], to=TensorProto.FLOAT, name="cast_out." + o.name))
    nodes = entry + list(g.node) + exits
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]  # stale float32 types; onnx's shape inference recomputes them
    return out
