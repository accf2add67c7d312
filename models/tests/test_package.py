"""Export of cogvideox-tiny into a scratch directory: the package checks out and matches the committed one."""

import contextlib
import io
import json
import os
import tempfile
import unittest
import warnings

import torch

from models.lib.manifest import sha256_file
from models.tests import REPO

try:
    from models.package import export
    from models.package.check import check
except ModuleNotFoundError as err:  # onnx: a machine with torch alone still runs the rest of the suite
    export = check = None
    MISSING = err.name
else:
    MISSING = None

TINY = os.path.join(REPO, "models", "cogvideox-tiny")


@unittest.skipIf(export is None, "exporting needs %s" % MISSING)
class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "cogvideox-tiny")
        threads = torch.get_num_threads()
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")  # the ONNX exporter's tracer warnings
                export.main(["--name", "cogvideox-tiny", "--out", cls.out, "--seed", "0"])
        finally:
            torch.set_num_threads(threads)  # the exporter sets its own
        with open(os.path.join(cls.out, "manifest.json"), encoding="utf-8") as f:
            cls.manifest = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_package_checks_out(self):
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(check(self.out), [])
        self.assertEqual(sha256_file(os.path.join(self.out, "parity.json")), self.manifest["files"]["parity.json"])

    def test_manifest_matches_the_committed_package(self):
        with open(os.path.join(TINY, "manifest.json"), encoding="utf-8") as f:
            committed = json.load(f)
        # parity.json holds PyTorch outputs, whose last digits follow the BLAS and its thread count
        strip = lambda m: dict(m, files={k: v for k, v in m["files"].items() if k != "parity.json"})  # noqa: E731
        self.assertEqual(sorted(self.manifest["files"]), sorted(committed["files"]))
        if not torch.__version__.startswith("1.13"):
            self.skipTest("the committed ONNX files come from torch 1.13, this is %s" % torch.__version__)
        self.assertEqual(strip(self.manifest), strip(committed))
