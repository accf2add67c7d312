"""Loading a component's published weights into one of our modules, tensor by tensor.

A component folder holds its weights as one ``.safetensors`` file or as shards
with an index (``diffusion_pytorch_model.safetensors.index.json`` in diffusers,
``model.safetensors.index.json`` in transformers). The module's ``state_dict``
keys must be exactly the file's: a key missing on either side, or a shape that
differs, means the folder is not the checkpoint the module describes, and the
error says which keys.
"""
import glob
import json
import os

import torch

from models.convert.safetensors import SafetensorsError, SafetensorsFile


class CheckpointError(ValueError):
    """A folder that is not a supported CogVideoX checkpoint; the message says what is wrong."""


def weight_map(folder):
    """``{key: file}`` of a component's weights, from its index or its single file."""
    indexes = sorted(glob.glob(os.path.join(folder, "*.safetensors.index.json")))
    if len(indexes) > 1:
        raise CheckpointError(f"{folder}: more than one weight index ({', '.join(os.path.basename(i) for i in indexes)})")
    if indexes:
        try:
            with open(indexes[0]) as f:
                mapping = json.load(f)["weight_map"]
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"{indexes[0]}: not a weight index with a weight_map ({err})") from None
        out = {}
        for key, file in mapping.items():
            path = os.path.join(folder, file)
            if not os.path.isfile(path):
                raise CheckpointError(f"{indexes[0]} names {file} for {key}, but {path} is missing (an incomplete download?)")
            out[key] = path
        return out
    files = sorted(glob.glob(os.path.join(folder, "*.safetensors")))
    if len(files) != 1:
        others = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.bin")))
        hint = f"; it has {', '.join(others)}: only .safetensors weights are read" if others else ""
        found = f"{len(files)} .safetensors files and no index" if files else "no .safetensors weights"
        raise CheckpointError(f"{folder}: {found}{hint}")
    try:
        with SafetensorsFile(files[0]) as st:
            return {key: files[0] for key in st.keys()}
    except SafetensorsError as err:
        raise CheckpointError(str(err)) from None


def _sample(keys, n=8):
    keys = sorted(keys)
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_weights(model, folder, component, aliases=None, dtype=torch.float32):
    """Copies the folder's weights into ``model`` (cast to ``dtype``), checking keys and shapes first.

    ``aliases`` maps a key the module has to the key the file stores it under, for
    weights the published file keeps once although the module names them twice
    (tied embeddings).
    """
    aliases = aliases or {}
    files = weight_map(folder)
    params = model.state_dict()
    # Each module key reads its own name, or the name the file keeps a tied weight under.
    wanted = {key: key if key in files else aliases.get(key, key) for key in params}
    missing = sorted(k for k, source in wanted.items() if source not in files)
    unexpected = sorted(set(files) - set(wanted.values()))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} weight(s) the {component} needs are not in it ({_sample(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} weight(s) in it are not part of the {component} ({_sample(unexpected)})")
        raise CheckpointError(f"{folder}: not the {component} this converter reads: " + "; ".join(parts))
    opened = {}
    try:
        for key, param in params.items():
            source = wanted[key]
            path = files[source]
            st = opened.get(path) or opened.setdefault(path, SafetensorsFile(path))
            if tuple(st.shape(source)) != tuple(param.shape):
                raise CheckpointError(
                    f"{path}: {source} has shape {list(st.shape(source))}, the {component} described by its config.json needs {list(param.shape)}"
                )
            with torch.no_grad():
                param.copy_(st.tensor(source).to(dtype))
    finally:
        for st in opened.values():
            st.close()
    model.to(dtype)
