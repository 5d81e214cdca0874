"""hadeq.models."""
