"""Convert a published CogVideoX checkpoint (diffusers layout) into a spool model package.

    npm run convert -- --from DIR --out models/NAME [--components text_encoder,transformer,vae]
                       [--dtype fp32|fp16|bf16] [--sampler cogvideox-ddim|cogvideox-dpm]
                       [--name NAME] [--parity auto|all|none] [--force]

(``npm run convert`` installs what it needs and runs ``/usr/bin/python3 -m models.convert``.)
"""
import argparse
import sys
import time

from models.cogvideox.schedulers import SchedulerConfigError
from models.convert.checkpoint import PARTS
from models.convert.package import DTYPES, ConversionError, convert
from models.convert.weights import CheckpointError

EPILOG = """
The checkpoint folder is what the published CogVideoX-2b / CogVideoX-5b repositories hold:
model_index.json, tokenizer/ (spiece.model), text_encoder/, transformer/, vae/ (config.json and
.safetensors weights, one file or shards with an index) and scheduler/scheduler_config.json.

--components converts only the parts named, so a host converts what it serves; the manifest's
"components" says which parts the package holds (every part's config is read either way).
--dtype sets the weights the graphs compute in; their inputs and outputs stay float32. bf16 applies
to the transformer (the text encoder and VAE then use fp16: ONNX convolutions have no bfloat16, and
T5 gains nothing from it); fp16/bf16 graphs are meant for CUDA.
--sampler: the 5B checkpoints publish a DDIM config but are sampled with CogVideoX's DPM scheduler and
dynamic guidance (the default when the transformer uses 3D RoPE); 2B with DDIM.
--parity: auto records PyTorch's outputs for parts small enough to run on this CPU in float32 (a single
block for a full-size transformer); all records everything; none skips the fixture.

Exit codes: 0 written; 2 the arguments or the checkpoint are not usable (the message says why).
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="npm run convert --",
        description="Convert a published CogVideoX checkpoint (diffusers layout) into a spool model package.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="src", required=True, metavar="DIR", help="the checkpoint folder (with model_index.json)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the package folder to write, e.g. models/cogvideox-5b")
    parser.add_argument("--components", default=",".join(PARTS), metavar="LIST", help="comma-separated parts: %s (default: all)" % ",".join(PARTS))
    parser.add_argument("--dtype", default="fp32", choices=DTYPES, help="weights of the graphs (default fp32)")
    parser.add_argument("--sampler", choices=("cogvideox-ddim", "cogvideox-dpm"), help="override the sampler (see below)")
    parser.add_argument("--name", help="the package's name (default: the --out folder's name)")
    parser.add_argument("--parity", default="auto", choices=("auto", "all", "none"), help="which parts get a parity fixture (default auto)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    args = parser.parse_args(argv)
    components = [c.strip() for c in args.components.split(",") if c.strip()]
    unknown = [c for c in components if c not in PARTS]
    if unknown or not components:
        parser.error("--components takes some of %s (got %r)" % (", ".join(PARTS), args.components))
    started = time.time()
    try:
        convert(args.src, args.out, components, args.dtype, args.name, args.sampler, args.parity, args.force, log=lambda m: print(m, flush=True))
    except (CheckpointError, ConversionError, SchedulerConfigError, ValueError) as err:
        print("convert: %s" % err, file=sys.stderr)
        return 2
    print("done in %.0f s" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
