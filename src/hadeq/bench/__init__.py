"""hadeq.bench."""
