"""hadeq.energy."""
