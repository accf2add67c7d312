"""Evaluation entry points (``/usr/bin/python3 -m models.evaluate.<module>``).

* ``judge``  judges MP4 files of the clip world (numpy and ffmpeg only, no torch)

The PyTorch evaluation of a checkpoint on the held-out prompts is ``bench.eval.evaluate_pytorch``.
"""
