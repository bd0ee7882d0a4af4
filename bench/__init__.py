"""Benchmarks (run by hand, never as timed tests). See docs/benchmarks.md."""
