"""hadeq.tasks."""
