"""hadeq.deq."""
