"""What a published CogVideoX checkpoint folder holds, checked before anything is converted.

The diffusers layout: ``model_index.json`` naming the pipeline class and its
components, and one folder per component (``tokenizer/``, ``text_encoder/``,
``transformer/``, ``vae/``, ``scheduler/``), each with its ``config.json``
(``scheduler_config.json`` for the scheduler) and, for the models, weights as
``.safetensors``. Anything else is refused with a message naming what is wrong.
"""
import json
import os
from dataclasses import dataclass, field

from models.convert.weights import CheckpointError, weight_map

PIPELINE = "CogVideoXPipeline"
# component → (library, class) as model_index.json names them
COMPONENTS = {
    "tokenizer": (("transformers",), ("T5Tokenizer", "T5TokenizerFast")),
    "text_encoder": (("transformers",), ("T5EncoderModel",)),
    "transformer": (("diffusers",), ("CogVideoXTransformer3DModel",)),
    "vae": (("diffusers",), ("AutoencoderKLCogVideoX",)),
    "scheduler": (("diffusers",), ("CogVideoXDDIMScheduler", "CogVideoXDPMScheduler")),
}
# The parts a package may hold, and the checkpoint components each needs.
PARTS = {
    "text_encoder": ("tokenizer", "text_encoder"),
    "transformer": ("transformer", "scheduler"),
    "vae": ("vae",),
}


@dataclass
class Checkpoint:
    root: str
    index: dict
    configs: dict = field(default_factory=dict)

    def folder(self, component):
        return os.path.join(self.root, component)


def _read_json(path, what):
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: {what}") from None
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot read it as JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def inspect_checkpoint(root, parts=tuple(PARTS)):
    """Checks the folder for the parts asked for and returns what it holds; raises CheckpointError otherwise."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise CheckpointError(f"{root} is not a folder: pass the folder of a CogVideoX checkpoint in the diffusers layout")
    index = _read_json(os.path.join(root, "model_index.json"), "a diffusers checkpoint folder starts with model_index.json")
    cls = index.get("_class_name")
    if cls != PIPELINE:
        hint = " (image-to-video and CogVideoX 1.5 checkpoints are not supported)" if isinstance(cls, str) and "CogVideoX" in cls else ""
        raise CheckpointError(f"{root}/model_index.json: _class_name is {cls!r}, not {PIPELINE!r}{hint}")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise CheckpointError(f"unknown component(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    ckpt = Checkpoint(root, index)
    for part in parts:
        for component in PARTS[part]:
            libraries, classes = COMPONENTS[component]
            entry = index.get(component)
            if not (isinstance(entry, list) and len(entry) == 2 and entry[0] in libraries and entry[1] in classes):
                raise CheckpointError(
                    f"{root}/model_index.json: {component} is {entry!r}; a CogVideoX checkpoint has {libraries[0]}.{' or '.join(classes)}"
                )
            folder = ckpt.folder(component)
            if not os.path.isdir(folder):
                raise CheckpointError(f"{folder} is missing (model_index.json names {component})")
            if component == "tokenizer":
                if not os.path.isfile(os.path.join(folder, "spiece.model")):
                    raise CheckpointError(f"{folder}/spiece.model is missing: the T5 tokenizer is converted from its SentencePiece model")
                continue
            name = "scheduler_config.json" if component == "scheduler" else "config.json"
            ckpt.configs[component] = _read_json(os.path.join(folder, name), f"{component} needs its {name}")
            if component != "scheduler":
                weight_map(folder)  # refuses a folder without readable safetensors weights
    return ckpt
