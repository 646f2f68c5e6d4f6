"""Offline data sources and query-log readers."""
