"""Writing stage graphs: reduced precision and external data.

``retype_float64`` turns a graph traced in float64 into a float16 or bfloat16 one:
every float64 initializer, constant, cast and value type takes the target type,
and what the trace kept float32 stays float32. ``save_graph`` writes a graph
whole, or with its weights in ``<file>.data`` beside it when they exceed the
threshold (2 GB, protobuf's limit); onnxruntime loads that file by its
relative path.
"""

import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper

EXTERNAL_DATA_THRESHOLD = 2 * 1024**3
DTYPES = {"fp32": TensorProto.FLOAT, "fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}


def _bf16_tensor(name, array):
    bits = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(torch.bfloat16).view(torch.int16)
    t = TensorProto(name=name, data_type=TensorProto.BFLOAT16, dims=list(array.shape))
    t.raw_data = bits.numpy().tobytes()
    return t


def _convert_tensor(t, target):
    array = numpy_helper.to_array(t)
    if target == TensorProto.FLOAT16:
        return numpy_helper.from_array(array.astype(np.float16), t.name)
    return _bf16_tensor(t.name, array)


def retype_float64(model, target):
    """Every float64 tensor, constant, cast and value type of the graph becomes ``target``."""
    g = model.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.DOUBLE:
            g.initializer[i].CopyFrom(_convert_tensor(t, target))
    for node in g.node:
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.DOUBLE:
                a.i = target
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.DOUBLE:
                a.t.CopyFrom(_convert_tensor(a.t, target))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.DOUBLE:
            vi.type.tensor_type.elem_type = target
    # an operator that makes float64 from other attributes would now disagree with its consumers:
    # save_graph's strict shape inference refuses such a graph


def _weight_bytes(model):
    return sum(len(t.raw_data) or t.ByteSize() for t in model.graph.initializer)


def save_graph(model, path, threshold=EXTERNAL_DATA_THRESHOLD):
    """Save and check ``model``; weights over ``threshold`` bytes go to ``<file>.data`` beside it."""
    data = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(path), data)
    if os.path.exists(data_path):
        os.remove(data_path)
    if _weight_bytes(model) > threshold:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    else:
        onnx.save_model(model, path)
    onnx.checker.check_model(path, full_check=True)
