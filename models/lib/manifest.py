"""manifest.json of a model package: fixed shape read by the coordinator and workers."""

import hashlib
import json
import os


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_files(out_dir):
    """Every file of the package except manifest.json, as sorted relative POSIX paths."""
    rels = []
    for root, _, names in os.walk(out_dir):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), out_dir).replace(os.sep, "/")
            if rel != "manifest.json":
                rels.append(rel)
    return sorted(rels)


def build_manifest(cfg, out_dir, block_files):
    t = cfg["transformer"]
    manifest = {
        "name": cfg["name"],
        "family": cfg["family"],
        "description": cfg["description"],
        "tokenizer": {
            "file": "tokenizer.json",
            "config": "tokenizer_config.json",
            "max_tokens": cfg["tokenizer"]["max_tokens"],
            "pad_id": 0,
            "eos_id": 1,
            "unk_id": 2,
        },
        "text_encoder": {"file": "text_encoder.onnx", "hidden_size": cfg["text_encoder"]["hidden_size"]},
        "transformer": {
            "embed": "transformer/embed.onnx",
            "blocks": list(block_files),
            "head": "transformer/head.onnx",
            "hidden_size": t["hidden_size"],
            "patch_size": t["patch_size"],
            "num_heads": t["num_heads"],
        },
        "vae": {"decoder": "vae_decoder.onnx", "scaling_factor": cfg["vae"]["scaling_factor"]},
        "latent": dict(cfg["latent"]),
        "video": dict(cfg["video"]),
        "scheduler": dict(cfg["scheduler"]),
        "defaults": dict(cfg["defaults"]),
        "limits": dict(cfg["limits"]),
        "files": {rel: sha256_file(os.path.join(out_dir, rel)) for rel in package_files(out_dir)},
    }
    return manifest


def write_manifest(out_dir, manifest):
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def verify_package(out_dir):
    """Check manifest hashes; returns a list of problems (empty when intact)."""
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    problems = []
    for rel, digest in m["files"].items():
        p = os.path.join(out_dir, rel)
        if not os.path.isfile(p):
            problems.append("missing " + rel)
        elif sha256_file(p) != digest:
            problems.append("sha256 mismatch " + rel)
    extra = set(package_files(out_dir)) - set(m["files"])
    problems += ["unlisted " + r for r in sorted(extra)]
    return problems
