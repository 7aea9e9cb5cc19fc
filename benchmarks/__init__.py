"""Cross-backend benchmarks of the zoo.

Run from the repository root: `python -m benchmarks.speed`, `python -m benchmarks.mixing`.
"""
