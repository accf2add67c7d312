"""The converter's own behaviour: which parts it converts, what it refuses and how it says so."""

import json
import os
import shutil
import tempfile
import unittest

from models.cogvideox.make_checkpoint import make_checkpoint
from models.convert.__main__ import main
from models.convert.package import ConversionError, convert
from models.convert.safetensors import SafetensorsFile, write_safetensors
from models.convert.weights import CheckpointError


class ConvertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="spool-convert-")
        cls.ckpt = make_checkpoint("2b", os.path.join(cls.root, "checkpoint"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.root, name)

    def test_converts_only_the_parts_asked_for_and_says_which(self):
        out = self.out("transformer-only")
        m = convert(self.ckpt, out, components=("transformer",), parity="none", log=None)
        self.assertEqual(m["components"], ["transformer"])
        self.assertEqual(sorted(os.listdir(out)), ["manifest.json", "transformer"])
        # The whole model's geometry is still stated: the text width, the VAE's scaling, the scheduler.
        self.assertEqual(m["text_encoder"]["hidden_size"], 32)
        self.assertEqual(m["vae"]["scaling_factor"], 1.15258426)
        self.assertEqual(m["scheduler"]["type"], "cogvideox-ddim")
        self.assertEqual(sorted(m["files"]), ["transformer/%s.onnx" % n for n in ("block_00", "block_01", "embed", "head")])

    def test_refuses_to_overwrite_without_force(self):
        out = self.out("taken")
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("mine")
        with self.assertRaises(ConversionError) as err:
            convert(self.ckpt, out, components=("vae",), parity="none", log=None)
        self.assertIn("is not empty", str(err.exception))
        self.assertIn("--force", str(err.exception))
        convert(self.ckpt, out, components=("vae",), parity="none", force=True, log=None)
        self.assertFalse(os.path.exists(os.path.join(out, "keep.txt")))

    def test_refuses_a_transformer_whose_weights_do_not_fit_its_config(self):
        bad = self.out("bad-checkpoint")
        shutil.copytree(self.ckpt, bad)
        path = os.path.join(bad, "transformer", "diffusion_pytorch_model.safetensors")
        with SafetensorsFile(path) as st:
            tensors = {k: st.tensor(k) for k in st.keys() if k != "proj_out.bias"}
        write_safetensors(path, tensors)
        with self.assertRaises(CheckpointError) as err:
            convert(bad, self.out("never"), components=("transformer",), parity="none", log=None)
        self.assertIn("1 weight(s) the transformer needs are not in it (proj_out.bias)", str(err.exception))

    def test_refuses_a_mismatched_text_width(self):
        bad = self.out("mismatched")
        shutil.copytree(self.ckpt, bad)
        cfg_path = os.path.join(bad, "transformer", "config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["text_embed_dim"] = 64
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        with self.assertRaises(CheckpointError) as err:
            convert(bad, self.out("never2"), components=("vae",), parity="none", log=None)
        self.assertIn("d_model 32 is not the transformer's text_embed_dim 64", str(err.exception))

    def test_the_command_line_exits_2_with_the_reason(self):
        import contextlib
        import io

        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            code = main(["--from", self.root, "--out", self.out("x")])
        self.assertEqual(code, 2)
        self.assertIn("model_index.json is missing", errors.getvalue())
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as done:
            main(["--from", self.ckpt, "--out", self.out("y"), "--components", "unet"])
        self.assertEqual(done.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
