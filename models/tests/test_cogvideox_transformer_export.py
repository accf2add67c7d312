"""Stage graphs of the CogVideoX transformer: names, dynamic axes, precisions, external data, fixture.

Whether the graphs compute what PyTorch computes is checked in onnxruntime-node by
``stages/test/cogvideox-transformer.test.ts``; here, what the converter relies on.
"""

import contextlib
import io
import os
import tempfile
import unittest
import warnings

import torch

from models.cogvideox.transformer import BlockStage, CogVideoXTransformer, HeadStage, load_transformer_config

try:
    import onnx
    from onnx import TensorProto

    from models.cogvideox import transformer_export as tx
    from models.cogvideox.transformer_parity import transformer_parity
except ModuleNotFoundError as err:
    onnx = tx = None
    MISSING = err.name
else:
    MISSING = None


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the ONNX exporter's tracer warnings
        return fn(*args, **kwargs)


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@unittest.skipIf(tx is None, "exporting needs %s" % MISSING)
class StageGraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = tx.random_transformer(load_transformer_config("transformer-5b-tiny"))
        # 50 KB: each block's weights (88 KB) go to external data, the embed's and head's (under 20 KB) stay inside
        cls.fields = quiet(tx.export_transformer, cls.model, cls.tmp.name, external_data_threshold=50_000)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def load(self, rel):
        path = os.path.join(self.tmp.name, rel)
        onnx.checker.check_model(path, full_check=True)
        return onnx.load(path)

    def test_manifest_fields(self):
        self.assertEqual(self.fields, {
            "embed": "transformer/embed.onnx",
            "blocks": ["transformer/block_00.onnx", "transformer/block_01.onnx"],
            "head": "transformer/head.onnx",
            "hidden_size": 32, "patch_size": 2, "num_heads": 2, "time_embed_dim": 24,
            "rotary": {"type": "3d", "head_dim": 16, "theta": 10000.0, "base_height": 4, "base_width": 6},
        })
        two = tx.manifest_fields(load_transformer_config("transformer-2b"))
        self.assertNotIn("rotary", two)
        self.assertEqual((len(two["blocks"]), two["time_embed_dim"], two["hidden_size"]), (30, 512, 1920))

    def test_interfaces_and_dynamic_axes(self):
        embed = self.load("transformer/embed.onnx").graph
        self.assertEqual([i.name for i in embed.input], ["sample", "encoder_hidden_states", "timestep"])
        self.assertEqual([o.name for o in embed.output], ["hidden_states", "temb"])
        self.assertEqual(dims(embed.input[0]), ["batch", "frames", 16, 8, 12])
        self.assertEqual(dims(embed.input[1]), ["batch", 226, 32])
        self.assertEqual(dims(embed.output[0])[::2], ["batch", 32])
        self.assertEqual(dims(embed.output[1]), ["batch", 24])
        block = self.load("transformer/block_01.onnx").graph
        self.assertEqual([i.name for i in block.input], ["hidden_states", "temb", "rotary_cos", "rotary_sin"])
        self.assertEqual(dims(block.input[2]), ["video_tokens", 16])
        self.assertEqual([o.name for o in block.output], ["hidden_states_out"])
        head = self.load("transformer/head.onnx").graph
        self.assertEqual(dims(head.output[0])[:2], ["batch", "frames"])
        self.assertEqual(len(dims(head.output[0])), 5)
        for g in (embed, block, head):
            self.assertTrue(all(i.type.tensor_type.elem_type == TensorProto.FLOAT for i in list(g.input) + list(g.output)))

    def test_large_weights_go_to_external_data(self):
        folder = os.path.join(self.tmp.name, "transformer")
        self.assertTrue(os.path.isfile(os.path.join(folder, "block_00.onnx.data")))
        self.assertFalse(os.path.exists(os.path.join(folder, "head.onnx.data")))
        self.assertLess(os.path.getsize(os.path.join(folder, "block_00.onnx")), os.path.getsize(os.path.join(folder, "block_00.onnx.data")))
        names = sorted(os.listdir(folder))
        self.assertEqual(names, ["block_00.onnx", "block_00.onnx.data", "block_01.onnx", "block_01.onnx.data", "embed.onnx", "head.onnx"])
        self.assertGreater(sum(len(t.raw_data) for t in self.load("transformer/block_00.onnx").graph.initializer), 50_000)

    def test_reduced_precision_graphs(self):
        graphs = {}
        for dtype in ("fp16", "bf16"):
            with tempfile.TemporaryDirectory() as out:
                path = quiet(tx.export_stage, BlockStage(self.model, 0), "block", tx.block_file(0), self.model.config, out, 8, 12, dtype)
                quiet(tx.export_stage, HeadStage(self.model, 8, 12), "head", tx.HEAD, self.model.config, out, 8, 12, dtype)
                onnx.checker.check_model(path, full_check=True)
                graphs[dtype] = onnx.load(path).graph
        target = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}
        for dtype, g in graphs.items():
            with self.subTest(dtype):
                # float32 in and out, weights in the target type, nothing left in float64
                self.assertTrue(all(v.type.tensor_type.elem_type == TensorProto.FLOAT for v in list(g.input) + list(g.output)))
                weights = [t for t in g.initializer if len(t.dims) == 2]
                self.assertTrue(weights and all(t.data_type == target[dtype] for t in weights))
                self.assertNotIn(TensorProto.DOUBLE, {t.data_type for t in g.initializer})
                casts = [a.i for n in g.node if n.op_type == "Cast" for a in n.attribute if a.name == "to"]
                self.assertNotIn(TensorProto.DOUBLE, casts)
                self.assertIn(TensorProto.FLOAT, casts)  # the rotary products stay float32
        self.assertEqual([n.op_type for n in graphs["fp16"].node], [n.op_type for n in graphs["bf16"].node])

    def test_parity_fixture_chains_the_stages(self):
        fixture = transformer_parity(self.model, batch=1, frames=2, blocks=[1])
        self.assertEqual(sorted(fixture["files"]), ["transformer/block_01.onnx", "transformer/embed.onnx", "transformer/head.onnx"])
        block = fixture["files"]["transformer/block_01.onnx"]
        self.assertEqual(sorted(block["inputs"]), ["hidden_states", "rotary_cos", "rotary_sin", "temb"])
        self.assertEqual(block["inputs"]["rotary_cos"]["shape"], [2 * 4 * 6, 16])
        self.assertEqual(fixture["files"]["transformer/head.onnx"]["outputs"]["sample"]["shape"], [1, 2, 16, 8, 12])

    def test_a_meta_model_exports_stage_by_stage_from_a_loader(self):
        # what the converter does with a full-size checkpoint: never the whole model in memory
        state = self.model.state_dict()
        seen = []

        def load(name):
            seen.append(name)
            return state[name].half()  # published checkpoints are fp16 (2B) or bf16 (5B)

        meta = CogVideoXTransformer(self.model.config, device="meta")
        with tempfile.TemporaryDirectory() as out:
            quiet(tx.export_transformer, meta, out, blocks=[1], load=load)
            graph = onnx.load(os.path.join(out, tx.block_file(1))).graph
            self.assertFalse(os.path.exists(os.path.join(out, tx.block_file(0))))
        self.assertEqual(sorted(seen), sorted(k for k in state if not k.startswith("transformer_blocks.0.")))
        self.assertTrue(all(p.is_meta for p in meta.parameters()))  # every stage's weights given back
        half = {k: v.half().float() for k, v in state.items()}
        weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        self.assertTrue(any(torch.equal(torch.from_numpy(w.copy()), half["transformer_blocks.1.ff.net.2.bias"]) for w in weights.values()))
        fixture = transformer_parity(meta, batch=1, frames=1, load=load)
        reference = CogVideoXTransformer(self.model.config)
        reference.load_state_dict(half)
        self.assertEqual(fixture, transformer_parity(reference, batch=1, frames=1))

    def test_a_loader_with_wrong_shapes_is_refused(self):
        meta = CogVideoXTransformer(self.model.config, device="meta")
        with self.assertRaisesRegex(ValueError, r"norm_final.weight has shape \(31,\) in the checkpoint, the model needs \(32,\)"):
            with tx.weights(meta, tx.stage_prefixes("head"), lambda name: torch.zeros(31) if name == "norm_final.weight" else self.model.state_dict()[name]):
                pass

    def test_command_line_help(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as done:
            tx.main(["--help"])
        self.assertEqual(done.exception.code, 0)
        self.assertIn("usage:", out.getvalue())


if __name__ == "__main__":
    unittest.main()
