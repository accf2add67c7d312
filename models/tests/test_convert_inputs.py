"""Reading the published checkpoint layout: safetensors files (one or sharded), the folder check, and key-exact loading."""

import json
import os
import shutil
import struct
import tempfile
import unittest

import torch

from models.convert.checkpoint import inspect_checkpoint
from models.convert.safetensors import SafetensorsError, SafetensorsFile, write_safetensors, write_sharded
from models.convert.weights import CheckpointError, load_weights, weight_map


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def touch(path):
    with open(path, "wb"):
        pass


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spool-convert-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)


class SafetensorsTest(Tmp):
    def test_round_trip_of_every_float_dtype_and_an_empty_tensor(self):
        g = torch.Generator().manual_seed(0)
        tensors = {
            "a.f32": torch.randn(3, 5, generator=g),
            "b.f16": torch.randn(7, generator=g).half(),
            "c.bf16": torch.randn(2, 2, 2, generator=g).to(torch.bfloat16),
            "d.i64": torch.arange(6).reshape(2, 3),
            "e.empty": torch.zeros(0, 4),
        }
        write_safetensors(self.path("x.safetensors"), tensors, {"format": "pt"})
        with SafetensorsFile(self.path("x.safetensors")) as st:
            self.assertEqual(sorted(st.keys()), sorted(tensors))
            self.assertEqual(st.metadata, {"format": "pt"})
            for name, t in tensors.items():
                got = st.tensor(name)
                self.assertEqual(got.dtype, t.dtype, name)
                self.assertEqual(tuple(got.shape), tuple(t.shape), name)
                self.assertTrue(torch.equal(got, t), name)

    def test_the_layout_matches_the_format(self):
        # 8-byte little-endian header length, JSON header padded to 8, raw little-endian data
        write_safetensors(self.path("x.safetensors"), {"w": torch.tensor([1.0, -2.0])})
        raw = read_bytes(self.path("x.safetensors"))
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(n % 8, 0)
        header = json.loads(raw[8 : 8 + n])
        self.assertEqual(header["w"], {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})
        self.assertEqual(raw[8 + n :], struct.pack("<2f", 1.0, -2.0))

    def test_refuses_files_that_lie(self):
        cases = {
            "short": b"\x01\x02",
            "huge header": struct.pack("<Q", 1 << 40) + b"{}",
            "not json": struct.pack("<Q", 4) + b"nope",
            "offsets past the end": self._file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8),
            "size mismatch": self._file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8),
            "unknown dtype": self._file({"w": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"),
        }
        for what, data in cases.items():
            with self.subTest(what):
                with open(self.path("bad.safetensors"), "wb") as f:
                    f.write(data)
                with self.assertRaises(SafetensorsError):
                    SafetensorsFile(self.path("bad.safetensors")).close()

    def _file(self, header, data):
        raw = json.dumps(header).encode()
        return struct.pack("<Q", len(raw)) + raw + data

    def test_shards_with_an_index(self):
        tensors = {f"layer.{i}.weight": torch.full((64,), float(i)) for i in range(6)}
        files = write_sharded(self.dir, "model", tensors, max_shard_bytes=600)
        self.assertEqual(files, [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)])
        mapping = weight_map(self.dir)
        self.assertEqual(sorted(mapping), sorted(tensors))
        index = json.loads(read_bytes(self.path("model.safetensors.index.json")))
        self.assertEqual(index["metadata"]["total_size"], 6 * 64 * 4)


class LoadWeightsTest(Tmp):
    def model(self):
        torch.manual_seed(1)
        return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))

    def test_copies_weights_casting_to_the_asked_dtype(self):
        src = self.model()
        write_safetensors(self.path("diffusion_pytorch_model.safetensors"), {k: v.half() for k, v in src.state_dict().items()})
        dst = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        load_weights(dst, self.dir, "test part")
        for k, v in src.state_dict().items():
            self.assertTrue(torch.allclose(dst.state_dict()[k], v.half().float()), k)
            self.assertEqual(dst.state_dict()[k].dtype, torch.float32)

    def test_names_missing_unexpected_and_misshapen_weights(self):
        sd = self.model().state_dict()
        write_safetensors(self.path("model.safetensors"), {**{k: v for k, v in sd.items() if k != "1.bias"}, "extra.weight": torch.zeros(1)})
        with self.assertRaises(CheckpointError) as err:
            load_weights(self.model(), self.dir, "text encoder")
        self.assertIn("1 weight(s) the text encoder needs are not in it (1.bias)", str(err.exception))
        self.assertIn("1 weight(s) in it are not part of the text encoder (extra.weight)", str(err.exception))
        write_safetensors(self.path("model.safetensors"), {**sd, "0.weight": torch.zeros(4, 4)})
        with self.assertRaises(CheckpointError) as err:
            load_weights(self.model(), self.dir, "text encoder")
        self.assertIn("0.weight has shape [4, 4]", str(err.exception))

    def test_a_tied_weight_kept_once_in_the_file(self):
        class Tied(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.shared = torch.nn.Embedding(5, 2)
                self.embed = torch.nn.Embedding(5, 2)
                self.embed.weight = self.shared.weight

        src = Tied()
        write_safetensors(self.path("model.safetensors"), {"shared.weight": src.shared.weight})
        dst = Tied()
        load_weights(dst, self.dir, "encoder", aliases={"embed.weight": "shared.weight"})
        self.assertTrue(torch.equal(dst.embed.weight, src.shared.weight))

    def test_refuses_pickled_weights(self):
        touch(self.path("pytorch_model.bin"))
        with self.assertRaises(CheckpointError) as err:
            weight_map(self.dir)
        self.assertIn("only .safetensors weights are read", str(err.exception))


class InspectCheckpointTest(Tmp):
    def layout(self, index=None, skip=()):
        index = index or {
            "_class_name": "CogVideoXPipeline",
            "tokenizer": ["transformers", "T5Tokenizer"],
            "text_encoder": ["transformers", "T5EncoderModel"],
            "transformer": ["diffusers", "CogVideoXTransformer3DModel"],
            "vae": ["diffusers", "AutoencoderKLCogVideoX"],
            "scheduler": ["diffusers", "CogVideoXDDIMScheduler"],
        }
        dump(index, self.path("model_index.json"))
        for c in ("tokenizer", "text_encoder", "transformer", "vae", "scheduler"):
            if c in skip:
                continue
            os.makedirs(self.path(c))
            if c == "tokenizer":
                touch(self.path(c, "spiece.model"))
            elif c == "scheduler":
                dump({"_class_name": "CogVideoXDDIMScheduler"}, self.path(c, "scheduler_config.json"))
            else:
                dump({}, self.path(c, "config.json"))
                write_safetensors(self.path(c, "model.safetensors"), {"w": torch.zeros(1)})

    def test_a_complete_checkpoint(self):
        self.layout()
        ckpt = inspect_checkpoint(self.dir)
        self.assertEqual(sorted(ckpt.configs), ["scheduler", "text_encoder", "transformer", "vae"])

    def test_only_the_parts_asked_for(self):
        self.layout(skip=("text_encoder", "tokenizer", "vae"))
        ckpt = inspect_checkpoint(self.dir, parts=("transformer",))
        self.assertEqual(sorted(ckpt.configs), ["scheduler", "transformer"])

    def test_refusals_name_what_is_wrong(self):
        cases = [
            (lambda: None, "model_index.json is missing"),
            (lambda: self.layout(index={"_class_name": "CogVideoXImageToVideoPipeline"}), "image-to-video and CogVideoX 1.5"),
            (lambda: self.layout(index={"_class_name": "StableDiffusionPipeline"}), "_class_name is 'StableDiffusionPipeline'"),
            (lambda: self.layout(skip=("vae",)), "vae is missing"),
        ]
        for make, message in cases:
            with self.subTest(message):
                shutil.rmtree(self.dir)
                os.makedirs(self.dir)
                make()
                with self.assertRaises(CheckpointError) as err:
                    inspect_checkpoint(self.dir)
                self.assertIn(message, str(err.exception))

    def test_refuses_a_tokenizer_without_its_sentencepiece_model(self):
        self.layout()
        os.remove(self.path("tokenizer", "spiece.model"))
        with self.assertRaises(CheckpointError) as err:
            inspect_checkpoint(self.dir)
        self.assertIn("spiece.model is missing", str(err.exception))


if __name__ == "__main__":
    unittest.main()
