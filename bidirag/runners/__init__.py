"""Runners execute a pipeline definition; `local` is the in-process embedded default."""
