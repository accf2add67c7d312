"""Write the CogVideoX sampler reference fixtures of the coordinator's sampler tests (float64).

    /usr/bin/python3 -m models.package.scheduler_reference \\
        [--out coordinator/test/fixtures/cogvideox-ddim-reference.json] \\
        [--dpm-out coordinator/test/fixtures/cogvideox-dpm-reference.json] [--seed 0]

The formulas and what the fixtures hold are in ``models.lib.schedule``.
"""

import argparse
import json
import os

from models.lib.schedule import build_dpm_reference, build_reference

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "coordinator", "test", "fixtures")
DEFAULT_OUT = os.path.join(FIXTURES, "cogvideox-ddim-reference.json")
DEFAULT_DPM_OUT = os.path.join(FIXTURES, "cogvideox-dpm-reference.json")


def _write(path, ref, **dump):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, **dump)
        f.write("\n")
    return os.path.getsize(path)


def write_reference(path, seed=0):
    """Write the DDIM fixture (indented JSON, one trailing newline); returns its size in bytes."""
    return _write(path, build_reference(seed))


def write_dpm_reference(path, seed=0):
    """Write the DPM fixture like the DDIM one; infinities are the strings "inf" / "-inf" (JSON has no number for them)."""
    return _write(path, build_dpm_reference(seed), allow_nan=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write the CogVideoX DDIM and DPM reference fixtures.")
    ap.add_argument("--out", default=DEFAULT_OUT, help="the DDIM fixture")
    ap.add_argument("--dpm-out", default=DEFAULT_DPM_OUT, help="the DPM fixture")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for path, write in ((args.out, write_reference), (args.dpm_out, write_dpm_reference)):
        print("wrote %s (%d bytes)" % (path, write(path, args.seed)))


if __name__ == "__main__":
    main()
