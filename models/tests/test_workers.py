"""Spawned training workers end with the process that spawned them."""

import os
import select
import signal
import subprocess
import sys
import time
import unittest

from models.tests import REPO


class WorkerLifetimeTest(unittest.TestCase):
    def test_spawned_worker_stops_with_its_parent(self):
        """A worker armed by ``models.lib.workers.stop_with_parent`` ends when the process that spawned it is killed."""
        parent = subprocess.Popen([sys.executable, "-m", "models.tests.worker_parent"], cwd=REPO, stdout=subprocess.PIPE, text=True)
        worker = None
        try:
            ready, _, _ = select.select([parent.stdout], [], [], 60)
            self.assertTrue(ready, "the worker never reported its pid")
            worker = int(parent.stdout.readline())
            self.assertTrue(running(worker))
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
            deadline = time.time() + 20
            while running(worker) and time.time() < deadline:
                time.sleep(0.1)
            self.assertFalse(running(worker), "the worker outlived its parent")
        finally:
            parent.kill()
            parent.wait()
            parent.stdout.close()
            if worker and running(worker):  # a failed run leaves no worker behind either
                os.kill(worker, signal.SIGKILL)


def running(pid):
    """True while pid exists and is not a zombie (an orphan stays one where PID 1 does not reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
