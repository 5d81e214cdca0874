"""Shared fixtures of the energy tests."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture
def ngspice() -> str:
    """Path of ngspice; missing ngspice fails the test under CI=true and skips it otherwise."""
    path = shutil.which("ngspice")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ngspice is required in CI: install the Debian package ngspice")
        pytest.skip("ngspice not installed (Debian package ngspice)")
    return path
