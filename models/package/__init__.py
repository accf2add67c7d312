"""Model package entry points (``/usr/bin/python3 -m models.package.<module>``).

* ``export``               builds a package directory (tokenizer, ONNX files, parity, manifest)
* ``check``                hashes, onnx.checker and interface names of a package
* ``samples``              contact sheets of a checkpoint (``models/samples/``)
* ``scheduler_reference``  CogVideoX DDIM reference fixture of the coordinator's tests

``ort_check.mjs`` checks a package in onnxruntime-node (``node models/package/ort_check.mjs DIR``).
"""
