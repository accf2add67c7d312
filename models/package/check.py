"""Check a model package: manifest hashes, onnx.checker on every ONNX file, interface names, size.

    /usr/bin/python3 -m models.package.check models/cogvideox-tiny

Exits 1 and lists the problems when any check fails.
"""

import argparse
import json
import os
import sys

import onnx

from models.lib.manifest import verify_package
from models.lib.onnx_export import interface


def check(pkg):
    """Print one line per file; returns the problems (empty when the package is intact)."""
    problems = verify_package(pkg)
    with open(os.path.join(pkg, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    total = 0
    for rel in sorted(m["files"]):
        path = os.path.join(pkg, rel)
        size = os.path.getsize(path)
        total += size
        note = ""
        if rel.endswith(".onnx"):
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            ins = [i.name for i in model.graph.input]
            outs = [o.name for o in model.graph.output]
            want_in, want_out, _ = interface(rel)
            if ins != want_in or outs != want_out:
                problems.append("%s: interface %s -> %s" % (rel, ins, outs))
            note = "opset %d, %s -> %s, checker ok" % (model.opset_import[0].version, ",".join(ins), ",".join(outs))
        print("%-28s %9d  %s" % (rel, size, note))
    total += os.path.getsize(os.path.join(pkg, "manifest.json"))
    print("total %d bytes" % total)
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check a model package directory.")
    ap.add_argument("package", nargs="?", default="models/cogvideox-tiny")
    args = ap.parse_args(argv)
    problems = check(args.package)
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("package OK")


if __name__ == "__main__":
    main()
