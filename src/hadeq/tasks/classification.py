"""Image-classification data sets, loaded offline into tensors.

Every loader returns a :class:`ClassificationData` with float32 inputs and int64 labels.
Pixels are mapped to [0, 1] and then standardised with the *training* mean and standard
deviation (per channel for colour images, one pair for grey images), so test data never
leaks into the normalisation. Nothing is downloaded: the data come from scikit-learn
(digits), the Debian package ``dataset-fashion-mnist``, or files at a path the user names.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from hadeq.errors import DataError
from hadeq.tasks.idx import read_idx
from hadeq.tasks.safe_pickle import load_pickle

FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where the Debian package ``dataset-fashion-mnist`` installs its IDX files."""

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass(frozen=True)
class ClassificationData:
    """A train/test split. ``x_*`` float32 of shape (N, *input_shape); ``y_*`` int64 (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _standardise(x_train: np.ndarray, x_test: np.ndarray, channel_axis: int | None):
    """Return (x - mean) / std with statistics of the training split.

    ``channel_axis`` None: one mean/std over all pixels; otherwise per channel.
    """
    if channel_axis is None:
        mean = x_train.mean()
        std = x_train.std()
    else:
        axes = tuple(a for a in range(x_train.ndim) if a != channel_axis)
        mean = x_train.mean(axis=axes, keepdims=True)
        std = x_train.std(axis=axes, keepdims=True)
    std = np.where(std > 0, std, 1.0)
    return ((x_train - mean) / std).astype(np.float32), ((x_test - mean) / std).astype(np.float32)


def _to_data(xtr, ytr, xte, yte, n_classes: int) -> ClassificationData:
    return ClassificationData(
        x_train=torch.from_numpy(np.ascontiguousarray(xtr)),
        y_train=torch.from_numpy(np.asarray(ytr, dtype=np.int64)),
        x_test=torch.from_numpy(np.ascontiguousarray(xte)),
        y_test=torch.from_numpy(np.asarray(yte, dtype=np.int64)),
        n_classes=n_classes,
    )


# --------------------------------------------------------------------------- digits
def load_digits_data(seed: int = 0, test_fraction: float = 0.2) -> ClassificationData:
    """scikit-learn's 8×8 digits (1797 images, 10 classes), flattened to 64 features.

    The split is a stratified, seeded ``train_test_split``; features are standardised per
    feature with the training statistics (constant border pixels get std 1).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = bunch.data.astype(np.float64)
    y = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    xtr, xte = _standardise(xtr, xte, channel_axis=1)
    return _to_data(xtr, ytr, xte, yte, n_classes=10)


# --------------------------------------------------------------------------- IDX sets
def _find_idx(root: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    raise DataError(f"{root / (stem + '.gz')}: file not found")


def _load_idx_set(root: Path, limit_train: int | None,
                  limit_test: int | None = None) -> ClassificationData:
    parts = {key: read_idx(_find_idx(root, stem), 3 if "images" in key else 1)
             for key, stem in _IDX_FILES.items()}
    for split in ("train", "test"):
        n_img, n_lab = len(parts[f"{split}_images"]), len(parts[f"{split}_labels"])
        if n_img != n_lab:
            raise DataError(
                f"{root}: {split} split has {n_img} images but {n_lab} labels"
            )
        if parts[f"{split}_labels"].size and parts[f"{split}_labels"].max() > 9:
            raise DataError(f"{root}: {split} labels must lie in 0..9")
    xtr = parts["train_images"][:limit_train].astype(np.float64)[:, None] / 255.0
    ytr = parts["train_labels"][:limit_train]
    xte = parts["test_images"][:limit_test].astype(np.float64)[:, None] / 255.0
    xtr, xte = _standardise(xtr, xte, channel_axis=None)
    return _to_data(xtr, ytr, xte, parts["test_labels"][:limit_test], n_classes=10)


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, limit_train: int | None = None,
    limit_test: int | None = None,
) -> ClassificationData:
    """Fashion-MNIST (60k/10k 28×28 grey images, 10 classes) from IDX files; the first
    ``limit_train``/``limit_test`` images of each split (None: all).

    ``root`` defaults to the Debian package's directory. Images come out as (N, 1, 28, 28).
    """
    path = Path(root) if root is not None else FASHION_MNIST_DEBIAN_DIR
    if not path.is_dir():
        hint = (
            "install it with `apt-get install dataset-fashion-mnist`"
            if root is None
            else "pass the directory holding the four IDX files"
        )
        raise DataError(f"Fashion-MNIST not found at {path}: {hint}")
    return _load_idx_set(path, limit_train, limit_test)


def load_mnist(root: str | os.PathLike[str], limit_train: int | None = None) -> ClassificationData:
    """MNIST from the four IDX files (optionally .gz) in ``root``; images (N, 1, 28, 28)."""
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"MNIST not found at {path}: pass the directory holding the IDX files")
    return _load_idx_set(path, limit_train)


# --------------------------------------------------------------------------- pickled sets
def _batch_arrays(path: Path, label_key: bytes, n_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """(data uint8 (N, n_pixels), labels int64 (N,)) from one pickle or npz batch."""
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                data, labels = npz["data"], npz[label_key.decode()]
        except KeyError as exc:
            raise DataError(f"{path}: npz batch lacks key {exc}; expected 'data' and "
                            f"'{label_key.decode()}'") from None
        except Exception as exc:
            raise DataError(f"{path}: not a readable npz batch ({type(exc).__name__})") from None
    else:
        obj = load_pickle(path)
        if not isinstance(obj, dict):
            raise DataError(f"{path}: expected a dict with keys b'data' and {label_key!r}")
        # Batches written by Python 3 have str keys; the originals have bytes keys.
        obj = {(k.encode() if isinstance(k, str) else k): v for k, v in obj.items()}
        if b"data" not in obj or label_key not in obj:
            raise DataError(
                f"{path}: expected keys b'data' and {label_key!r}, found {sorted(obj)}"
            )
        data, labels = obj[b"data"], obj[label_key]
    data = np.asarray(data)
    labels = np.asarray(labels).reshape(-1)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != n_pixels:
        raise DataError(
            f"{path}: 'data' must be uint8 of shape (N, {n_pixels}), got "
            f"{data.dtype} {data.shape}"
        )
    if len(labels) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data, labels.astype(np.int64)


def _find_batch(root: Path, name: str) -> Path:
    for candidate in (root / name, root / (name + ".npz"), root / (name + ".pkl")):
        if candidate.is_file():
            return candidate
    raise DataError(f"{root / name}: file not found")


def _planes_to_images(data: np.ndarray) -> np.ndarray:
    """(N, 3072) uint8 in R, G, B planes of 32×32 → float64 (N, 3, 32, 32) in [0, 1]."""
    return data.reshape(-1, 3, 32, 32).astype(np.float64) / 255.0


def _load_planes(root: Path, train_names: Sequence[str], test_name: str,
                 label_key: bytes, label_offset: int, n_classes: int) -> ClassificationData:
    train = [_batch_arrays(_find_batch(root, n), label_key, 3072) for n in train_names]
    xte_raw, yte = _batch_arrays(_find_batch(root, test_name), label_key, 3072)
    ytr = np.concatenate([y for _, y in train]) - label_offset
    yte = yte - label_offset
    for split, y in (("train", ytr), ("test", yte)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise DataError(
                f"{root}: {split} labels must lie in {label_offset}..{n_classes - 1 + label_offset}"
            )
    xtr = _planes_to_images(np.concatenate([x for x, _ in train]))
    xtr, xte = _standardise(xtr, _planes_to_images(xte_raw), channel_axis=1)
    return _to_data(xtr, ytr, xte, yte, n_classes=n_classes)


def load_cifar10(root: str | os.PathLike[str]) -> ClassificationData:
    """CIFAR-10 from the python batches ``data_batch_1..5`` and ``test_batch`` in ``root``.

    Each batch is a pickle of a dict with b'data' uint8 (10000, 3072) (R, G, B planes) and
    b'labels' (list of 0..9). It is read with the restricted unpickler of
    :mod:`hadeq.tasks.safe_pickle` — the one place hadeq unpickles, and only from the path
    the user names. Images come out as (N, 3, 32, 32).
    """
    path = Path(root)
    if (path / "cifar-10-batches-py").is_dir():
        path = path / "cifar-10-batches-py"
    if not path.is_dir():
        raise DataError(f"CIFAR-10 not found at {path}: pass the cifar-10-batches-py directory")
    names = [f"data_batch_{i}" for i in range(1, 6)]
    return _load_planes(path, names, "test_batch", b"labels", 0, 10)


def load_imagenet32(root: str | os.PathLike[str], n_train_batches: int = 10) -> ClassificationData:
    """ImageNet32 (Chrabaszcz et al. 2017) from its official batches in ``root``.

    Reads ``train_data_batch_1..n_train_batches`` and ``val_data`` (pickle, or ``.npz``
    read without pickle) holding ``data`` uint8 (N, 3072) as R, G, B planes and
    ``labels`` 1..1000, which become 0..999. The full training set needs ~15 GB as
    float32; ``n_train_batches`` < 10 loads a prefix.
    """
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"ImageNet32 not found at {path}: pass the directory of its batches")
    if not 1 <= n_train_batches <= 10:
        raise DataError(f"n_train_batches={n_train_batches} must lie in 1..10")
    names = [f"train_data_batch_{i}" for i in range(1, n_train_batches + 1)]
    return _load_planes(path, names, "val_data", b"labels", 1, 1000)
