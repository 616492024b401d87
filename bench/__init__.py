"""Benchmarks of e-Cabinet against real Daphne processes; see bench/README.md and ``make bench``."""
