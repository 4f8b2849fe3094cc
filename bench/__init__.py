"""Benchmarks: each compares hatang with a named peer in the same run."""
