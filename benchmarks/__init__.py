"""Benchmarks: each module `bench_*.py` has `run() -> list[(name, value, unit)]`; `python -m
benchmarks` (`make bench`) runs them all and prints one table."""
