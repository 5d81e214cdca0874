"""hadeq.training."""
