"""Write the CogVideoX DDIM reference fixture of the coordinator's sampler tests (float64).

    /usr/bin/python3 -m models.package.scheduler_reference \\
        [--out coordinator/test/fixtures/cogvideox-ddim-reference.json] [--seed 0]

The formulas and what the fixture holds are in ``models.lib.schedule``.
"""

import argparse
import json
import os

from models.lib.schedule import build_reference

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "coordinator", "test", "fixtures", "cogvideox-ddim-reference.json")


def write_reference(path, seed=0):
    """Write the fixture (indented JSON, one trailing newline); returns its size in bytes."""
    ref = build_reference(seed)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    return os.path.getsize(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write the CogVideoX DDIM reference fixture.")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    size = write_reference(args.out, args.seed)
    print("wrote %s (%d bytes)" % (args.out, size))


if __name__ == "__main__":
    main()
