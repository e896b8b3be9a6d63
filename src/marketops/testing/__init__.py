"""Helpers that start real components (PostgreSQL, uvicorn) for tests and benchmarks."""
