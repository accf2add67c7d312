"""Library modules of the model tooling (imported by the entry points; none has a command line).

* ``config``       package configs (``models/configs/<name>.json``) and derived sizes
* ``world``        clip world of cogvideox-mini: seeded renderer, captions, held-out split
* ``judge``        reads a video of that world: scene, background, colour, shape, direction
* ``tokenizer``    word-level tokenizer files and the Python reference encoder
* ``schedule``     CogVideoX DDIM formulas (float64) and the scheduler reference fixture
* ``sampling``     PyTorch DDIM + CFG sampler identical to the service's, noise laws
* ``architecture`` torch modules of the miniature CogVideoX (one per ONNX file)
* ``checkpoint``   loading checkpoints into ``architecture.PackageModel``
* ``onnx_export``  per-file ONNX export: interface names, dynamic axes, opset 17
* ``parity``       parity fixture of a package
* ``manifest``     manifest.json and its sha256 integrity check
* ``training``     run directories, atomic saves, logs, rendered batches
* ``vae``          the VAE encoder and the decoder loss used in training
* ``bank``         the latent bank a denoiser trains on
* ``losses``       training losses of the denoiser (object weight, caption heads, pixels)
* ``workers``      lifetime of spawned training workers

Only ``config``, ``world``, ``judge``, ``tokenizer`` and ``schedule`` work without torch.
"""
