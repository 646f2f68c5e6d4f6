"""Pipeline builders: pure functions from config to a Pipeline (no I/O, no model loading)."""
