"""unittest suite of the model tooling, one module per area (from the repository root):

    /usr/bin/python3 -m unittest discover -s models/tests -t . -v

The trained model is only as good as these pieces: a held-out triple leaking into
training makes the evaluation measure memory instead of generalisation, a wrong CSS
value or a judge that misreads true renders makes every score meaningless, and a
schedule or noise law that differs from the sampler's trains a model the service
cannot sample. Everything here is seeded and small (one torch thread, no training,
no files from ``~/.cache``), so the suite runs in seconds beside a training job.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy and torch load their thread pools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
