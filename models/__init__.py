"""Python tooling of spool's model packages: build, train, export, check and judge them.

Run from the repository root with Debian's interpreter (torch 1.13, onnx, numpy):

    /usr/bin/python3 -m models.<subpackage>.<module> [options]

Layout (nothing here touches ``sys.path``; every import is ``models.…``):

* ``models.lib``       library modules, no command line: configs, the clip world, the judge,
                       the tokenizer, the noise schedule and sampler, the miniature architecture,
                       checkpoints, ONNX export, parity fixtures, manifests, training helpers.
* ``models.train``     training entry points (VAE, latent bank, text encoder + DiT, decoder
                       fine-tune, caption probe) and ``all.sh``, the whole cogvideox-mini recipe.
* ``models.package``   package entry points: export, check, contact sheets, the scheduler
                       reference fixture, and ``ort_check.mjs`` (onnxruntime-node check).
* ``models.evaluate``  the judge's command line (``bench/src/evaluate.ts`` runs it).
* ``models.tests``     the unittest suite.
* ``models/configs/``  one JSON config per package built here.

Real CogVideoX modules go in ``models.cogvideox`` and the converter of the published
checkpoints in ``models.convert`` (``python3 -m models.convert``), beside these.
The package directories (``models/cogvideox-tiny``, ``models/cogvideox-mini``,
``models/samples``) are data, not Python. The PyTorch evaluation of a checkpoint is
``bench.eval.evaluate_pytorch``: it imports from here, never the reverse.

Nothing is imported here, so ``python3 -m models.evaluate.judge`` needs only numpy.
"""
