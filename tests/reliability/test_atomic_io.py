"""hadeq.io's atomic writer: all or nothing, no temporaries left on failure, stale
temporaries of killed writers removable, unwritable targets reported as DataError."""

from __future__ import annotations

import os

import pytest

from hadeq.errors import DataError
from hadeq.io import remove_temporaries, write_atomic, write_bytes_atomic, write_text_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "result.json"
    write_text_atomic(str(target), "old\n")

    def half_then_fail(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        write_atomic(str(target), half_then_fail)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["result.json"]
    write_bytes_atomic(str(target), b"new")
    assert target.read_bytes() == b"new"


def test_files_get_the_mode_the_umask_gives_even_if_the_writer_recreates_them(tmp_path):
    def recreate(tmp: str) -> None:
        os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    target = tmp_path / "weights.safetensors"
    old = os.umask(0o022)
    try:
        write_atomic(str(target), recreate)
    finally:
        os.umask(old)
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_remove_temporaries_deletes_only_stale_temporaries(tmp_path):
    (tmp_path / ".tmp-abc-state.safetensors").write_bytes(b"partial")
    (tmp_path / "state.safetensors").write_bytes(b"kept")
    (tmp_path / ".tmp-dir").mkdir()
    assert remove_temporaries(str(tmp_path)) == [".tmp-abc-state.safetensors"]
    assert sorted(os.listdir(tmp_path)) == [".tmp-dir", "state.safetensors"]
    assert remove_temporaries(str(tmp_path / "missing")) == []


def test_a_target_below_a_regular_file_is_a_data_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="cannot write"):
        write_text_atomic(str(blocker / "out.json"), "{}")
