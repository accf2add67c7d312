"""Evaluation of checkpoints: ``python3 -m bench.eval.evaluate_pytorch`` (from the repository root), results in ``results/``.

It imports the clip world, the judge and the sampler from the ``models`` package; nothing in
``models`` imports from here.
"""
