"""hadeq.analog."""
