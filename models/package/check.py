"""Check a model package: manifest hashes, onnx.checker on every ONNX file, interface names, size.

    /usr/bin/python3 -m models.package.check models/cogvideox-tiny

The interfaces expected follow the manifest: blocks also take the rotary tables
when it has ``transformer.rotary``, and a chunked VAE's two graphs pass their
conv cache. Graphs with external data are checked by path, their weights not
loaded. Exits 1 and lists the problems when any check fails.
"""

import argparse
import json
import os
import sys

import onnx

from models.lib.manifest import verify_package
from models.lib.onnx_export import interface


def expected_interface(rel, m):
    """(inputs, outputs) a graph of this package must have; cache names of a chunked VAE are matched by prefix."""
    if rel.startswith("transformer/block_") and m["transformer"].get("rotary"):
        return ["hidden_states", "temb", "rotary_cos", "rotary_sin"], ["hidden_states_out"]
    chunked = m["vae"].get("chunked")
    if chunked and rel == m["vae"]["decoder"]:
        return ["latents"], ["frames", "conv_cache_out.*"]
    if chunked and rel == chunked["next"]:
        return ["latents", "conv_cache.*"], ["frames", "conv_cache_out.*"]
    ins, outs, _ = interface(rel)
    return ins, outs


def _matches(names, want):
    """Exact names, where a trailing ``prefix.*`` stands for one or more names with that prefix."""
    if want and want[-1].endswith(".*"):
        prefix, fixed = want[-1][:-1], want[:-1]
        rest = names[len(fixed) :]
        return names[: len(fixed)] == fixed and len(rest) > 0 and all(n.startswith(prefix) for n in rest)
    return names == want


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
            model = onnx.load(path, load_external_data=False)
            onnx.checker.check_model(path)  # by path: graphs with external data are checked without loading it
            ins = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
            outs = [o.name for o in model.graph.output]
            want_in, want_out = expected_interface(rel, m)
            if not (_matches(ins, want_in) and _matches(outs, want_out)):
                problems.append("%s: interface %s -> %s, expected %s -> %s" % (rel, ins, outs, want_in, want_out))
            shown = lambda names: ",".join(names[:3]) + (",… (%d)" % len(names) if len(names) > 3 else "")
            note = "opset %d, %s -> %s, checker ok" % (model.opset_import[0].version, shown(ins), shown(outs))
        print("%-30s %11d  %s" % (rel, size, note))
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
