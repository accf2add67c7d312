"""The benchmarks' Python side (``bench.eval``); the rest of ``bench/`` is the TypeScript workspace package."""
