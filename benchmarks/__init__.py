"""Benchmarks that print figures rather than pass or fail on time (DESIGN §10): `python -m benchmarks`."""
