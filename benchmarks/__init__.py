"""Benchmarks at street and city scale; run with `python -m benchmarks.run` (see README.md here)."""
