"""Joint attention as onnxruntime's ``com.microsoft::MultiHeadAttention`` in exported graphs.

``softmax(q·kᵀ·scale)·v`` written with matmuls leaves a [B, heads, S, S] score
tensor in the graph: at CogVideoX-5B's size (48 heads, S = 17,776, B = 2) that is
~61 GB in fp16. onnxruntime's contrib operator computes the same attention without
it where it can (CUDA: flash / memory-efficient kernels for fp16 and bf16,
memory-efficient for fp32; CPU: a tiled flash kernel for fp32), so the block
graphs use it.

``multi_head_attention(q, k, v, num_heads, scale)`` takes q, k, v as
[B, S, num_heads * head_dim] (the operator's first layout; q and k after their
per-head LayerNorm and rotary) and returns [B, S, num_heads * head_dim]. Run
eagerly it is the plain math, so the trace carries the right values; exported,
it is one ``MultiHeadAttention`` node (attributes ``num_heads``, ``scale``) and
its output's value_info ([batch, sequence, hidden], q's type), so onnx's shape
inference goes on through the rest of the graph. ``exporting()`` says whether a
model is being traced for ONNX: the transformer's own forward stays the plain
math otherwise. ``OPSETS`` is the opset import the exporter must add.
"""

import warnings

import torch

DOMAIN = "com.microsoft"
OP_TYPE = "MultiHeadAttention"
OPSETS = {DOMAIN: 1}


def exporting():
    """True while ``torch.onnx.export`` traces a module."""
    return torch.onnx.is_in_onnx_export()


def _split(x, num_heads):
    """[B, S, H·d] -> [B, H, S, d]."""
    return x.reshape(x.shape[0], x.shape[1], num_heads, -1).transpose(1, 2)


class _MultiHeadAttention(torch.autograd.Function):
    """Inference only (no backward): the exporter sees ``symbolic``, the tracer ``forward``."""

    @staticmethod
    def forward(ctx, q, k, v, num_heads, scale):
        w = torch.softmax(torch.matmul(_split(q, num_heads), _split(k, num_heads).transpose(-1, -2)) * scale, dim=-1)
        return torch.matmul(w, _split(v, num_heads)).transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)

    @staticmethod
    def symbolic(g, q, k, v, num_heads, scale):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 1.13 calls its own g.op deprecated; there is no other way here
            out = g.op("%s::%s" % (DOMAIN, OP_TYPE), q, k, v, num_heads_i=num_heads, scale_f=scale)
        out.setType(q.type())  # [B, S, hidden] in q's type: the operator's output
        return out


def multi_head_attention(q, k, v, num_heads, scale):
    """softmax(q·kᵀ·scale)·v per head, q / k / v [B, S, num_heads·head_dim] -> [B, S, num_heads·head_dim]."""
    return _MultiHeadAttention.apply(q, k, v, num_heads, float(scale))
