"""Test helper of ``test_workers``: spawns one worker that arms ``stop_with_parent``, prints its pid once armed, then sleeps.

    /usr/bin/python3 -m models.tests.worker_parent      (from the repository root)

A module run with ``-m``, because spawn re-imports the parent's main module by name.
"""

import multiprocessing as mp
import os
import time

from models.lib.workers import stop_with_parent


def work(q):
    stop_with_parent()
    q.put(os.getpid())
    time.sleep(120)


def main():
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ctx.Process(target=work, args=(q,)).start()
    print(q.get(), flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main()
