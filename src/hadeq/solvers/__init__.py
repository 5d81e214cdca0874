"""hadeq.solvers."""
