"""Helpers for tests, demos and benchmarks (never imported by the daemon itself)."""
