"""Loaders read files written here in the exact published formats; bad files → DataError."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from hadeq.errors import DataError
from hadeq.tasks import classification as cls
from hadeq.tasks import (
    load_cifar10,
    load_digits_data,
    load_fashion_mnist,
    load_imagenet32,
    load_mnist,
)


def _write_idx_raw(path: Path, arr: np.ndarray) -> None:
    """IDX written by hand (independent of hadeq.tasks.idx.write_idx)."""
    header = b"\x00\x00\x08" + bytes([arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def _mnist_dir(tmp_path: Path, n_train: int = 12, n_test: int = 5) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    for name, arr in arrays.items():
        _write_idx_raw(tmp_path / name, arr)
    return tmp_path, arrays


def test_mnist_idx_round_trip(tmp_path):
    root, arrays = _mnist_dir(tmp_path)
    d = load_mnist(root)
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (5, 1, 28, 28)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    np.testing.assert_array_equal(d.y_train.numpy(), arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(d.y_test.numpy(), arrays["t10k-labels-idx1-ubyte.gz"])
    # Standardisation is an increasing affine map of the raw pixels, fitted on train.
    raw = arrays["train-images-idx3-ubyte.gz"].reshape(-1).astype(float)
    x = d.x_train.numpy().reshape(-1).astype(float)
    assert np.corrcoef(raw, x)[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert abs(x.mean()) < 1e-4 and x.std() == pytest.approx(1.0, rel=1e-3)


def test_truncated_idx_names_file(tmp_path):
    root, _ = _mnist_dir(tmp_path)
    bad = root / "train-images-idx3-ubyte.gz"
    with gzip.open(bad, "rb") as fh:
        data = fh.read()
    with gzip.open(bad, "wb") as fh:
        fh.write(data[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*header promises"):
        load_mnist(root)


def test_wrong_magic_and_missing(tmp_path):
    root, _ = _mnist_dir(tmp_path)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x03" + b"\x00" * 20)  # 3 dims where 1 is expected
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*dimension"):
        load_mnist(root)
    os.remove(root / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: file not found"):
        load_mnist(root)


def test_fashion_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(cls, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "nowhere")
    with pytest.raises(DataError) as info:
        load_fashion_mnist()
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and "\n" not in message


def test_fashion_mnist_debian_files():
    if not cls.FASHION_MNIST_DEBIAN_DIR.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("Fashion-MNIST Debian files missing: apt-get install dataset-fashion-mnist")
        pytest.skip("dataset-fashion-mnist not installed")
    d = load_fashion_mnist(limit_train=2000)
    assert d.x_train.shape == (2000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    # The published test set is balanced: 1000 images per class.
    assert torch.bincount(d.y_test, minlength=10).tolist() == [1000] * 10
    head = load_fashion_mnist(limit_train=10, limit_test=2000)
    assert head.x_test.shape == (2000, 1, 28, 28)
    assert torch.equal(head.y_test, d.y_test[:2000])
    counts = torch.bincount(head.y_test, minlength=10)
    assert int(counts.min()) >= 188 and int(counts.max()) <= 219  # as the docstring says


def _cifar_dir(tmp_path: Path, n: int = 4) -> tuple[Path, list]:
    rng = np.random.default_rng(1)
    batches = []
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist(), b"batch_label": b"x"}
        with open(tmp_path / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
        batches.append(batch)
    return tmp_path, batches


def test_cifar10_planes(tmp_path):
    root, batches = _cifar_dir(tmp_path)
    d = load_cifar10(root)
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert d.y_test.tolist() == batches[-1][b"labels"]
    raw = np.concatenate([b[b"data"] for b in batches[:5]]).astype(float)
    for c in range(3):
        plane = raw[:, c * 1024:(c + 1) * 1024].reshape(-1, 32, 32)
        # pixel (row r, col k) of channel c is byte c*1024 + 32 r + k of the row
        assert np.corrcoef(plane.ravel(), d.x_train[:, c].numpy().ravel())[0, 1] > 0.999999


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_refuses_code(tmp_path):
    root, _ = _cifar_dir(tmp_path)
    with open(root / "data_batch_3", "wb") as fh:
        pickle.dump({b"data": _Evil(), b"labels": []}, fh)
    with pytest.raises(DataError, match=r"data_batch_3.*refusing to unpickle .*system"):
        load_cifar10(root)


def test_truncated_pickle(tmp_path):
    root, _ = _cifar_dir(tmp_path)
    data = (root / "test_batch").read_bytes()
    (root / "test_batch").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="test_batch: not a readable pickle"):
        load_cifar10(root)


def test_cifar_wrong_shape(tmp_path):
    root, _ = _cifar_dir(tmp_path)
    with open(root / "data_batch_2", "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(DataError, match=r"data_batch_2: 'data' must be uint8 of shape \(N, 3072\)"):
        load_cifar10(root)


@pytest.mark.parametrize("fmt", ["npz", "pickle"])
def test_imagenet32_labels_shift(tmp_path, fmt):
    rng = np.random.default_rng(2)
    labels = {}
    for name in ["train_data_batch_1", "train_data_batch_2", "val_data"]:
        data = rng.integers(0, 256, (3, 3072)).astype(np.uint8)
        lab = rng.integers(1, 1001, 3)
        lab[0] = 1000 if name == "val_data" else 1
        labels[name] = lab
        if fmt == "npz":
            np.savez(tmp_path / f"{name}.npz", data=data, labels=lab)
        else:  # the official pickles were written by Python 3 with str keys
            with open(tmp_path / name, "wb") as fh:
                pickle.dump({"data": data, "labels": lab.tolist(), "mean": np.zeros(3072)}, fh)
    d = load_imagenet32(tmp_path, n_train_batches=2)
    assert d.n_classes == 1000 and d.x_train.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(d.y_test.numpy(), labels["val_data"] - 1)
    expect = np.concatenate([labels["train_data_batch_1"], labels["train_data_batch_2"]]) - 1
    np.testing.assert_array_equal(d.y_train.numpy(), expect)


def test_imagenet32_label_range(tmp_path):
    for name in ["train_data_batch_1", "val_data"]:
        np.savez(tmp_path / f"{name}.npz", data=np.zeros((2, 3072), np.uint8), labels=[0, 5])
    with pytest.raises(DataError, match=r"labels must lie in 1..1000"):
        load_imagenet32(tmp_path, n_train_batches=1)


def test_digits_split_seeded_and_standardised():
    a, b, c = load_digits_data(0), load_digits_data(0), load_digits_data(1)
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64)
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    assert a.x_train.mean(0).abs().max() < 1e-5
    # stratified: every class is in the test split in its overall proportion (±1)
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
