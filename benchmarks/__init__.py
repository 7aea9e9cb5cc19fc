"""Cross-backend benchmarks of the zoo: `python -m benchmarks.speed`, `python -m benchmarks.mixing`."""
