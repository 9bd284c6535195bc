"""Benchmarks: bhtom_async against the official sequential script, a naive async client and curl."""
