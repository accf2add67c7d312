"""The scheduler reference fixture of the coordinator's sampler tests is what ``models.package.scheduler_reference`` writes."""

import os
import tempfile
import unittest

from models.package.scheduler_reference import DEFAULT_OUT, write_reference
from models.tests import REPO


class ScheduleReferenceTest(unittest.TestCase):
    def test_committed_fixture_regenerates_byte_for_byte(self):
        self.assertEqual(DEFAULT_OUT, os.path.join(REPO, "coordinator", "test", "fixtures", "cogvideox-ddim-reference.json"))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "reference.json")
            write_reference(out, seed=0)
            with open(out, "rb") as f:
                made = f.read()
        with open(DEFAULT_OUT, "rb") as f:
            self.assertEqual(made, f.read(), "regenerate it with python3 -m models.package.scheduler_reference")
