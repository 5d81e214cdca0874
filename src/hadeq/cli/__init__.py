"""The ``hadeq`` command line."""
