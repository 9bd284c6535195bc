"""Benchmarks of bhtom_async against the official way, naive clients and curl (`python -m benchmarks`)."""
