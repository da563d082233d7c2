"""Tests for nnviz.core.datasets: toy generators, splits, file readers, downloads, real data.

No network: downloads are exercised against file:// mirrors and a loopback HTTP server
in tmp_path, with the catalogue's mnist entry patched so small fake files verify.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from nnviz.core import datasets as D
from nnviz.core.datasets import (
    IMAGE_DATASETS,
    TOY_DATASETS,
    Dataset,
    DatasetError,
    DatasetSpec,
    DownloadCancelled,
    checksums,
    default_cache_dir,
    download,
    ensure_image_files,
    load_csv,
    load_dataset,
    load_idx,
    load_npz,
    make_toy,
    resolve_data_dir,
)

# ------------------------------------------------------------------ helpers


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    """Write ``arr`` as an IDX file (big-endian), optionally gzipped."""
    codes = {
        np.dtype("u1"): 0x08,
        np.dtype("i1"): 0x09,
        np.dtype("i2"): 0x0B,
        np.dtype("i4"): 0x0C,
        np.dtype("f4"): 0x0D,
        np.dtype("f8"): 0x0E,
    }
    code = codes[arr.dtype.newbyteorder("=")]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    data = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if gz:
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def fake_mnist(folder: Path, n_train=40, n_test=20, gz=True, seed=0, side=28) -> dict[str, bytes]:
    """Write 4 small MNIST-like IDX files; return {base name: bytes written}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    out = {}
    for base, arr in arrays.items():
        p = write_idx(folder / (base + (".gz" if gz else "")), arr, gz=gz)
        out[base] = p.read_bytes()
    return out


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A file:// mirror with 4 fake gz files whose checksums are pinned for 'mnist'."""
    mirror = tmp_path / "mirror_good"
    written = fake_mnist(mirror, gz=True)
    files = tuple(D.DataFile(base, sha(data), sha(gzip.decompress(data))) for base, data in written.items())
    monkeypatch.setitem(D.CATALOGUE, "mnist", dataclasses.replace(D.entry("mnist"), files=files))
    monkeypatch.setattr(checksums, "_VERIFIED", {})
    monkeypatch.delenv("NNVIZ_DATA_DIR", raising=False)
    return mirror


def uri(folder: Path) -> str:
    return folder.as_uri() + "/"


def train_mlp_accuracy(d: Dataset, hidden=(16, 16), steps=2500, lr=0.02, seed=0) -> float:
    """Full-batch Adam on a small tanh MLP in numpy; returns test accuracy."""
    rng = np.random.default_rng(seed)
    x, y, xt, yt = d.x_train / 6.0, d.y_train, d.x_test / 6.0, d.y_test
    sizes = (x.shape[1], *hidden, d.n_classes)
    W = [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    B = [np.zeros(b) for b in sizes[1:]]
    params = W + B
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    Y = np.eye(d.n_classes)[y]

    def forward(inp):
        hs = [inp]
        for i, (w, b) in enumerate(zip(W, B)):
            z = hs[-1] @ w + b
            hs.append(np.tanh(z) if i < len(W) - 1 else z)
        return hs

    for t in range(1, steps + 1):
        hs = forward(x)
        z = hs[-1] - hs[-1].max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - Y) / len(x)
        gW, gB = [None] * len(W), [None] * len(W)
        for i in reversed(range(len(W))):
            gW[i], gB[i] = hs[i].T @ g, g.sum(0)
            if i:
                g = (g @ W[i].T) * (1 - hs[i] ** 2)
        for j, (prm, gr) in enumerate(zip(params, gW + gB)):
            m[j] = 0.9 * m[j] + 0.1 * gr
            v[j] = 0.999 * v[j] + 0.001 * gr * gr
            prm -= lr * (m[j] / (1 - 0.9**t)) / (np.sqrt(v[j] / (1 - 0.999**t)) + 1e-8)
    return float((forward(xt)[-1].argmax(1) == yt).mean())


# ------------------------------------------------------------------ toy sets


@pytest.mark.parametrize("name", TOY_DATASETS)
@pytest.mark.parametrize("n", [4, 101, 500])
def test_toy_shape_dtype_balance(name, n):
    x, y = make_toy(name, n, 0.2, seed=1)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int32
    assert set(np.unique(y)) <= {0, 1}
    assert np.sum(y == 0) == n // 2 and np.sum(y == 1) == n - n // 2
    assert np.isfinite(x).all()


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_deterministic_and_seeded(name):
    a = make_toy(name, 200, 0.1, seed=7)
    b = make_toy(name, 200, 0.1, seed=7)
    c = make_toy(name, 200, 0.1, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_range_like_playground(name):
    x, _ = make_toy(name, 1000, 0.0, seed=0)
    assert np.abs(x).max() <= 6.0


def test_toy_noise_zero_is_clean():
    x, y = make_toy("circle", 400, 0.0, 0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all((r < 2.5) == (y == 1))
    assert r[y == 1].max() <= 2.5 and r[y == 0].min() >= 3.5  # Playground's gap between classes
    x, y = make_toy("xor", 400, 0.0, 0)
    assert np.all((x[:, 0] * x[:, 1] >= 0) == (y == 1))
    assert np.abs(x).min() >= 0.3  # Playground's padding off the axes
    x, y = make_toy("gauss", 400, 0.0, 0)
    assert np.all(x[y == 1].mean(0) > 1.5) and np.all(x[y == 0].mean(0) < -1.5)


def test_toy_noise_scales_like_playground():
    # circle/xor: noise flips labels near the boundary (points stay where they are).
    x, y = make_toy("circle", 2000, 0.5, 0)
    r = np.hypot(x[:, 0], x[:, 1])
    wrong = np.mean((r < 2.5) != (y == 1))
    assert 0.05 < wrong < 0.5
    x, y = make_toy("xor", 2000, 0.5, 0)
    wrong = np.mean((x[:, 0] * x[:, 1] >= 0) != (y == 1))
    assert 0.05 < wrong < 0.5
    # gauss: variance goes 0.5 -> 4 as noise goes 0 -> 0.5.
    for noise, var in ((0.0, 0.5), (0.5, 4.0)):
        x, y = make_toy("gauss", 20000, noise, 0)
        assert abs(x[y == 1].var(0).mean() - var) < 0.15 * var
    # spiral: uniform jitter of +-noise per axis around the clean arm.
    x0, _ = make_toy("spiral", 500, 0.0, 3)
    x1, _ = make_toy("spiral", 500, 0.3, 3)
    r0 = np.hypot(x0[:, 0], x0[:, 1])
    assert r0.max() <= 5.0 + 1e-5
    assert not np.array_equal(x0, x1)


def test_toy_unknown_name():
    with pytest.raises(DatasetError, match="swiss-roll"):
        make_toy("swiss-roll", 100, 0, 0)


def test_spiral_noise0_learnable_by_small_tanh_mlp():
    d = load_dataset(DatasetSpec(name="spiral", n_samples=500, noise=0.0, seed=0))
    assert train_mlp_accuracy(d) > 0.95


def test_load_dataset_toy_uses_make_toy_points():
    spec = DatasetSpec(name="xor", n_samples=100, noise=0.1, seed=5)
    d = load_dataset(spec)
    x, _ = make_toy("xor", 100, 0.1, 5)
    allx = np.concatenate([d.x_train, d.x_val, d.x_test])
    assert sorted(map(tuple, allx.tolist())) == sorted(map(tuple, x.tolist()))
    assert d.kind == "toy2d" and d.input_shape == (2,) and d.n_classes == 2
    assert d.class_names == ("orange", "blue")


# ------------------------------------------------------------------ splits


def test_toy_split_sizes_and_disjoint():
    spec = DatasetSpec(name="circle", n_samples=500, test_ratio=0.3, validation_split=0.2, seed=2)
    d = load_dataset(spec)
    assert len(d.x_test) == 150
    assert len(d.x_val) == 70 and len(d.x_train) == 280
    rows = [tuple(r) for a in (d.x_train, d.x_val, d.x_test) for r in a.tolist()]
    assert len(set(rows)) == 500
    for a in (d.x_train, d.x_val, d.x_test):
        assert a.dtype == np.float32
    for a in (d.y_train, d.y_val, d.y_test):
        assert a.dtype == np.int32


def test_split_deterministic_and_seed_dependent():
    a = load_dataset(DatasetSpec(name="gauss", seed=4, validation_split=0.1))
    b = load_dataset(DatasetSpec(name="gauss", seed=4, validation_split=0.1))
    c = load_dataset(DatasetSpec(name="gauss", seed=5, validation_split=0.1))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_train_limit_and_no_validation():
    d = load_dataset(DatasetSpec(name="spiral", n_samples=200, train_limit=10))
    assert len(d.x_train) == 10 and len(d.y_train) == 10
    assert len(d.x_val) == 0 and d.x_val.shape == (0, 2)
    assert len(d.x_test) == 100
    # A limit larger than the data keeps everything.
    d = load_dataset(DatasetSpec(name="spiral", n_samples=200, train_limit=10_000))
    assert len(d.x_train) == 100


def test_dataset_checks_lengths_and_repr():
    z = np.zeros((3, 2), np.float32)
    with pytest.raises(DatasetError):
        Dataset(
            "t",
            z,
            np.zeros(2, np.int32),
            z[:0],
            np.zeros(0, np.int32),
            z,
            np.zeros(3, np.int32),
            ("a", "b"),
            "toy2d",
        )
    d = load_dataset(DatasetSpec())
    assert "train=250" in repr(d)


# ------------------------------------------------------------------ spec


def test_spec_round_trip_and_errors():
    s = DatasetSpec(
        name="xor",
        n_samples=123,
        noise=0.25,
        seed=9,
        test_ratio=0.2,
        validation_split=0.1,
        train_limit=5,
        path="",
    )
    assert DatasetSpec.from_dict(s.to_dict()) == s
    assert DatasetSpec.from_dict({}) == DatasetSpec()
    assert DatasetSpec.from_dict({"noise": 0}).noise == 0.0  # JSON int for a float is fine
    assert type(DatasetSpec.from_dict({"noise": 0}).noise) is float
    with pytest.raises(DatasetError, match="colour"):
        DatasetSpec.from_dict({"colour": "red"})
    for bad in (
        {"n_samples": "500"},
        {"n_samples": 5.5},
        {"noise": "a"},
        {"name": 3},
        {"n_samples": True},
        {"path": None},
    ):
        with pytest.raises(DatasetError, match=next(iter(bad))):
            DatasetSpec.from_dict(bad)
    with pytest.raises(DatasetError):
        DatasetSpec.from_dict(["name"])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(name="swiss-roll"), "swiss-roll"),
        (dict(n_samples=3), "samples"),
        (dict(noise=-0.1), "Noise"),
        (dict(noise=0.9), "Noise"),
        (dict(noise=float("nan")), "Noise"),
        (dict(test_ratio=0.0), "Test ratio"),
        (dict(test_ratio=1.0), "Test ratio"),
        (dict(validation_split=1.0), "Validation"),
        (dict(validation_split=-0.1), "Validation"),
        (dict(train_limit=-1), "limit"),
        (dict(seed=-1), "seed"),
        (dict(name="files"), "path"),
    ],
)
def test_validate_messages(kwargs, word):
    spec = DatasetSpec(**kwargs)
    msgs = spec.validate()
    assert any(word in m for m in msgs), msgs
    with pytest.raises(DatasetError, match=word):
        load_dataset(spec)


def test_validate_wrong_types():
    msgs = DatasetSpec(n_samples="500", noise=None).validate()
    assert any("n_samples" in m for m in msgs) and any("noise" in m for m in msgs)
    with pytest.raises(DatasetError, match="n_samples"):
        load_dataset(DatasetSpec(n_samples="500"))


def test_validate_ok():
    assert DatasetSpec().validate() == []
    assert DatasetSpec(name="mnist", n_samples=0).validate() == []  # n_samples is toy-only


# ------------------------------------------------------------------ folders


def test_resolve_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("NNVIZ_DATA_DIR")
    assert resolve_data_dir() == default_cache_dir()


def test_find_data_dir_order_env_then_checkout_then_cache(tmp_path, monkeypatch):
    from nnviz.core.datasets import folders

    checkout = tmp_path / "repo"
    (checkout / "nnviz").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setattr(folders, "_CHECKOUT", checkout)
    monkeypatch.setattr(folders, "default_cache_dir", lambda: tmp_path / "cache")
    env, shared = tmp_path / "env", tmp_path / "shared" / "datasets"
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(env))
    assert D.data_dir_candidates() == [env, shared, tmp_path / "cache"]
    assert D.find_data_dir("mnist") is None
    fake_mnist(tmp_path / "cache" / "mnist")
    assert D.find_data_dir("mnist") == tmp_path / "cache"
    fake_mnist(shared / "mnist", gz=False)  # decompressed files count too
    assert D.find_data_dir("mnist") == shared
    fake_mnist(env / "mnist")
    assert D.find_data_dir("mnist") == env
    assert D.find_data_dir("mnist", "fashion-mnist") is None and D.find_data_dir() is None
    fake_mnist(shared / "fashion-mnist")
    assert D.find_data_dir("fashion-mnist") == shared
    monkeypatch.delenv("NNVIZ_DATA_DIR")
    assert D.find_data_dir() == shared  # every image set by default
    (checkout / "pyproject.toml").unlink()  # an installed nnviz: no checkout beside it
    assert D.data_dir_candidates() == [tmp_path / "cache"]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG applies to Linux")
def test_default_cache_dir_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "nnviz"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_cache_dir() == Path.home() / ".cache" / "nnviz"


# ------------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_idx_round_trip(tmp_path, gz, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = write_idx(tmp_path / "a.idx", arr, gz=gz)
    out = load_idx(p)
    np.testing.assert_array_equal(out, arr)
    assert out.dtype.isnative and out.flags.writeable


def test_files_idx_folder_image(tmp_path):
    folder = tmp_path / "myidx"
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(
        folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 8, 6), dtype=np.uint8), gz=True
    )
    write_idx(folder / "train-labels-idx1-ubyte", np.array([3, 7] * 15, np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", np.full((10, 8, 6), 255, np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([7] * 10, np.uint8), gz=True)
    d = load_dataset(DatasetSpec(name="files", path=str(folder), validation_split=0.2))
    assert d.kind == "image" and d.input_shape == (8, 6, 1)
    assert d.class_names == ("3", "7")
    assert set(np.unique(d.y_train)) == {0, 1} and np.all(d.y_test == 1)
    assert len(d.x_train) == 24 and len(d.x_val) == 6 and len(d.x_test) == 10
    assert d.x_test.max() == 1.0 and d.x_train.min() >= 0.0 and d.x_train.dtype == np.float32


def test_files_folder_without_idx_names_subfolders(tmp_path):
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DatasetError, match="mnist"):
        load_dataset(DatasetSpec(name="files", path=str(tmp_path)))


# ------------------------------------------------------------------ npz


def test_npz_images(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "imgs.npz"
    np.savez(
        p,
        x_train=rng.integers(0, 256, (20, 5, 5), dtype=np.uint8),
        y_train=np.arange(20) % 4,
        x_test=np.full((6, 5, 5), 255, np.uint8),
        y_test=np.arange(6) % 4,
    )
    d = load_dataset(DatasetSpec(name="files", path=str(p)))
    assert d.kind == "image" and d.input_shape == (5, 5, 1) and d.n_classes == 4
    assert d.x_test.max() == 1.0 and d.name == "imgs"
    x_tr, y_tr, x_te, y_te = load_npz(p)
    assert x_tr.shape == (20, 5, 5)


def test_npz_table_string_labels_and_toy2d(tmp_path):
    p = tmp_path / "tab.npz"
    x_tr = np.array([[0, 10, 5], [2, 20, 5], [4, 30, 5], [1, 15, 5]], float)
    np.savez(
        p,
        x_train=x_tr,
        y_train=np.array(["b", "a", "b", "a"]),
        x_test=np.array([[8.0, 10, 5]]),
        y_test=np.array(["b"]),
    )
    d = load_dataset(DatasetSpec(name="files", path=str(p)))
    assert d.kind == "table" and d.class_names == ("a", "b")
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    np.testing.assert_allclose(d.x_test, [[2.0, 0.0, 0.0]])  # train stats only: test may leave [0, 1]
    p2 = tmp_path / "two.npz"
    np.savez(p2, x_train=x_tr[:, :2], y_train=np.array([0, 1, 0, 1]), x_test=x_tr[:1, :2], y_test=[1])
    assert load_dataset(DatasetSpec(name="files", path=str(p2))).kind == "toy2d"


# ------------------------------------------------------------------ CSV


def test_csv_table_with_header(tmp_path):
    p = tmp_path / "iris.csv"
    rows = ["species,a,b,c"] + [
        f"{'setosa' if i % 2 else 'virginica'},{i},{2 * i},{i % 3}" for i in range(40)
    ]
    p.write_text("\n".join(rows) + "\n")
    x, labels = load_csv(p)
    assert x.shape == (40, 3) and labels[0] == "virginica"
    d = load_dataset(DatasetSpec(name="files", path=str(p), test_ratio=0.25, seed=1))
    assert d.kind == "table" and d.class_names == ("setosa", "virginica")
    assert len(d.x_train) == 30 and len(d.x_test) == 10
    np.testing.assert_allclose(d.x_train.min(0), 0.0)
    np.testing.assert_allclose(d.x_train.max(0), 1.0)


def test_csv_no_header_numeric_labels_toy2d(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("".join(f"{(i % 2) * 5}.0, {i * 0.5}, {-i}\n" for i in range(20)))
    x, labels = load_csv(p)
    assert x.shape == (20, 2)
    d = load_dataset(DatasetSpec(name="files", path=str(p)))
    assert d.kind == "toy2d" and d.class_names == ("0", "5")
    assert set(np.unique(np.concatenate([d.y_train, d.y_test]))) == {0, 1}


def test_csv_semicolon_and_crlf(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_bytes(b"label;f1;f2;f3\r\n1;0.1;0.2;0.3\r\n2;0.4;0.5;0.6\r\n1;0.7;0.8;0.9\r\n")
    d = load_dataset(DatasetSpec(name="files", path=str(p)))
    assert d.input_shape == (3,) and d.class_names == ("1", "2")


@pytest.mark.parametrize("header", [True, False])
def test_csv_784_columns_is_image(tmp_path, header):
    rng = np.random.default_rng(0)
    p = tmp_path / "mnist_small.csv"
    lines = ["label," + ",".join(f"pixel{i}" for i in range(784))] if header else []
    pix = rng.integers(0, 256, (12, 784))
    pix[0, 0] = 255
    lines += [f"{i % 3}," + ",".join(map(str, r)) for i, r in enumerate(pix)]
    p.write_text("\n".join(lines))
    d = load_dataset(DatasetSpec(name="files", path=str(p), test_ratio=0.25))
    assert d.kind == "image" and d.input_shape == (28, 28, 1)
    assert len(d.x_train) == 9 and len(d.x_test) == 3
    allx = np.concatenate([d.x_train, d.x_test])
    assert allx.max() == 1.0 and allx.min() >= 0.0


# ------------------------------------------------------------------ corrupt input


def _good_idx(tmp_path, name="ok-idx1-ubyte"):
    return write_idx(tmp_path / name, np.arange(10, dtype=np.uint8))


CORRUPT_IDX = {
    "empty.idx": lambda p: p.write_bytes(b""),
    "badmagic.idx": lambda p: p.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc"),
    "badtype.idx": lambda p: p.write_bytes(b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc"),
    "short.idx": lambda p: p.write_bytes(b"\x00\x00"),
    "shorthdr.idx": lambda p: p.write_bytes(b"\x00\x00\x08\x03" + (3).to_bytes(4, "big")),
    "truncated.idx": lambda p: p.write_bytes(b"\x00\x00\x08\x01" + (30).to_bytes(4, "big") + b"abc"),
    "trailing.idx": lambda p: p.write_bytes(b"\x00\x00\x08\x01" + (1).to_bytes(4, "big") + b"abc"),
    "zerodim.idx": lambda p: p.write_bytes(b"\x00\x00\x08\x01" + (0).to_bytes(4, "big")),
    "badgzip.idx.gz": lambda p: p.write_bytes(b"\x1f\x8b" + b"garbage" * 10),
    "truncgzip.idx.gz": lambda p: p.write_bytes(
        gzip.compress(b"\x00\x00\x08\x01" + (300).to_bytes(4, "big") + bytes(range(256)) + bytes(44))[:-12]
    ),
}


@pytest.mark.parametrize("fname", sorted(CORRUPT_IDX))
def test_corrupt_idx(tmp_path, fname):
    p = tmp_path / fname
    CORRUPT_IDX[fname](p)
    before = p.read_bytes()
    with pytest.raises(DatasetError) as ei:
        load_idx(p)
    assert fname in str(ei.value)
    assert p.read_bytes() == before  # never touch user input


def test_missing_idx_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.idx"):
        load_idx(tmp_path / "nope.idx")


def test_idx_folder_count_mismatch(tmp_path):
    folder = tmp_path / "mm"
    fake_mnist(folder, n_train=10, n_test=5, gz=False, side=4)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(DatasetError) as ei:
        load_dataset(DatasetSpec(name="files", path=str(folder)))
    assert "train-labels-idx1-ubyte" in str(ei.value) and "train-images-idx3-ubyte" in str(ei.value)


CORRUPT_OTHER = {
    "missing.npz": lambda p: np.savez(p, x_train=np.zeros((2, 2)), y_train=np.zeros(2)),
    "notzip.npz": lambda p: p.write_bytes(b"this is not a zip file at all"),
    "empty.npz": lambda p: p.write_bytes(b""),
    "rowmismatch.npz": lambda p: np.savez(
        p, x_train=np.zeros((3, 2)), y_train=np.zeros(2), x_test=np.zeros((1, 2)), y_test=np.zeros(1)
    ),
    "fraclabels.npz": lambda p: np.savez(
        p, x_train=np.zeros((2, 2)), y_train=np.array([0.5, 1]), x_test=np.zeros((1, 2)), y_test=np.zeros(1)
    ),
    "nonnum.csv": lambda p: p.write_text("1,2,3\n0,abc,4\n1,5,6\n"),
    "ragged.csv": lambda p: p.write_text("1,2,3\n0,4\n1,5,6\n"),
    "ragged_long.csv": lambda p: p.write_text("1,2,3\n0,4,5,6\n1,5,6\n"),
    "fraclabel.csv": lambda p: p.write_text("1.5,2,3\n0,4,5\n1,5,6\n"),
    "empty.csv": lambda p: p.write_text(""),
    "blank.csv": lambda p: p.write_text("\n\n  \n"),
    "headeronly.csv": lambda p: p.write_text("label,a,b\n"),
    "onecolumn.csv": lambda p: p.write_text("1\n2\n3\n"),
    "nan.csv": lambda p: p.write_text("1,2,3\n0,nan,5\n1,5,6\n"),
    "emptylabel.csv": lambda p: p.write_text("1,2,3\n,4,5\n1,5,6\n"),
    "onerow.csv": lambda p: p.write_text("1,2,3\n"),
    "binary.csv": lambda p: p.write_bytes(b"\x00\x01\x02\xff" * 20),
    "latin.csv": lambda p: p.write_bytes(b"\xe9t\xe9,1,2\n"),
    "weird.xyz": lambda p: p.write_text("1,2\n"),
}


@pytest.mark.parametrize("fname", sorted(CORRUPT_OTHER))
def test_corrupt_files(tmp_path, fname):
    p = tmp_path / fname
    CORRUPT_OTHER[fname](p)
    before = p.read_bytes()
    with pytest.raises(DatasetError) as ei:
        load_dataset(DatasetSpec(name="files", path=str(p)))
    assert fname in str(ei.value)
    assert type(ei.value) is DatasetError
    assert p.read_bytes() == before


def test_files_path_missing(tmp_path):
    with pytest.raises(DatasetError, match="ghost.csv"):
        load_dataset(DatasetSpec(name="files", path=str(tmp_path / "ghost.csv")))


# ------------------------------------------------------------------ local verification


def test_local_files_verified_and_cached(tmp_path, fake_mirror, monkeypatch):
    data = tmp_path / "data"
    fake_mnist(data / "mnist", gz=True)  # same seed -> same bytes as the mirror
    calls = []
    real = checksums.sha256_file
    monkeypatch.setattr(checksums, "sha256_file", lambda p: calls.append(p) or real(p))
    assert ensure_image_files("mnist", data, download=False) == data / "mnist"
    assert len(calls) == 4
    ensure_image_files("mnist", data, download=False)
    d = load_dataset(DatasetSpec(name="mnist", validation_split=0.25), data, download=False)
    assert len(calls) == 4  # cached: no re-hashing
    assert d.input_shape == (28, 28, 1) and d.class_names == tuple("0123456789")
    assert len(d.x_train) == 30 and len(d.x_val) == 10 and len(d.x_test) == 20


def test_local_raw_files_verify_by_content_sha(tmp_path, fake_mirror):
    data = tmp_path / "data"
    fake_mnist(data / "mnist", gz=False)
    assert ensure_image_files("mnist", data, download=False) == data / "mnist"


def test_recompressed_gz_verifies_by_content(tmp_path, fake_mirror):
    data = tmp_path / "data" / "mnist"
    fake_mnist(data, gz=True)
    p = data / "train-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()), compresslevel=1, mtime=12345))
    assert ensure_image_files("mnist", tmp_path / "data", download=False) == data


def test_local_corrupt_file_refused_without_download(tmp_path, fake_mirror):
    data = tmp_path / "data" / "mnist"
    fake_mnist(data, gz=True)
    p = data / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"\x01\x02"))
    with pytest.raises(DatasetError) as ei:
        ensure_image_files("mnist", tmp_path / "data", download=False)
    msg = str(ei.value)
    assert "t10k-labels-idx1-ubyte" in msg and D.entry("mnist").file("t10k-labels-idx1-ubyte").sha256 in msg


def test_missing_without_download_says_how_to_fix(tmp_path, fake_mirror):
    with pytest.raises(DatasetError) as ei:
        load_dataset(DatasetSpec(name="mnist"), tmp_path / "empty", download=False)
    msg = str(ei.value)
    assert str(tmp_path / "empty" / "mnist") in msg
    assert "NNVIZ_DATA_DIR" in msg and "--data-dir" in msg and "download" in msg
    assert "train-images-idx3-ubyte" in msg


# ------------------------------------------------------------------ downloads


def test_download_success_with_progress(tmp_path, fake_mirror):
    data = tmp_path / "cache"
    calls = []
    folder = ensure_image_files(
        "mnist",
        data,
        mirrors=[uri(fake_mirror)],
        progress=lambda f, done, total: calls.append((f, done, total)),
    )
    assert folder == data / "mnist"
    for base in D.IDX_FILES:
        got = (folder / (base + ".gz")).read_bytes()
        assert got == (fake_mirror / (base + ".gz")).read_bytes()
        mine = [c for c in calls if c[0] == base + ".gz"]
        assert mine[0][1] == 0 and mine[-1][1] == mine[-1][2] == len(got)
        assert [c[1] for c in mine] == sorted(c[1] for c in mine)
    assert sorted(p.name for p in folder.iterdir()) == sorted(b + ".gz" for b in D.IDX_FILES)  # no temp files
    d = load_dataset(DatasetSpec(name="mnist"), data, download=False)
    assert len(d.x_train) == 40


def test_download_through_load_dataset_uses_mirrors_table(tmp_path, fake_mirror, monkeypatch):
    monkeypatch.setitem(
        D.CATALOGUE, "mnist", dataclasses.replace(D.entry("mnist"), mirrors=(uri(fake_mirror),))
    )
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(tmp_path / "envdir"))
    d = load_dataset(DatasetSpec(name="mnist"))
    assert len(d.x_test) == 20
    assert (tmp_path / "envdir" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_download_checksum_mismatch_falls_through(tmp_path, fake_mirror):
    bad = tmp_path / "mirror_bad"
    fake_mnist(bad, gz=True, seed=99)  # same names, different content
    data = tmp_path / "cache"
    seen = []

    def progress(f, done, total):
        # Atomic: the final name never exists while its bytes are still arriving.
        seen.append(f)
        assert not (data / "mnist" / f).exists()

    folder = ensure_image_files("mnist", data, mirrors=[uri(bad), uri(fake_mirror)], progress=progress)
    for base in D.IDX_FILES:
        assert (folder / (base + ".gz")).read_bytes() == (fake_mirror / (base + ".gz")).read_bytes()
    assert seen.count("train-images-idx3-ubyte.gz") >= 2  # tried the bad mirror first
    assert sorted(p.name for p in folder.iterdir()) == sorted(b + ".gz" for b in D.IDX_FILES)  # no temp files


def test_download_all_mirrors_fail(tmp_path, fake_mirror):
    bad = tmp_path / "mirror_bad"
    fake_mnist(bad, gz=True, seed=99)
    nowhere = tmp_path / "no_such_mirror"
    data = tmp_path / "cache"
    with pytest.raises(DatasetError) as ei:
        ensure_image_files("mnist", data, mirrors=[uri(bad), uri(nowhere)])
    msg = str(ei.value)
    assert uri(bad) in msg and uri(nowhere) in msg
    assert "checksum mismatch" in msg and "train-images-idx3-ubyte.gz" in msg
    expected = D.entry("mnist").file("train-images-idx3-ubyte").sha256
    got = sha((bad / "train-images-idx3-ubyte.gz").read_bytes())
    assert expected in msg and got in msg
    assert list((data / "mnist").iterdir()) == []  # nothing half-written left behind


def test_download_cancel_removes_partial(tmp_path, fake_mirror, monkeypatch):
    monkeypatch.setattr(download, "CHUNK", 256)
    data = tmp_path / "cache"
    chunks = []

    def progress(f, done, total):
        chunks.append(done)
        # streaming into a temp file beside the target; the final name does not exist yet
        names = [p.name for p in (data / "mnist").iterdir()]
        assert len(names) == 1 and f not in names

    with pytest.raises(DownloadCancelled) as ei:
        ensure_image_files(
            "mnist", data, mirrors=[uri(fake_mirror)], progress=progress, cancel=lambda: len(chunks) >= 3
        )
    assert isinstance(ei.value, DatasetError) and "train-images-idx3-ubyte.gz" in str(ei.value)
    assert list((data / "mnist").iterdir()) == []


def test_download_cancel_before_start(tmp_path, fake_mirror):
    with pytest.raises(DownloadCancelled):
        ensure_image_files("mnist", tmp_path / "c", mirrors=[uri(fake_mirror)], cancel=lambda: True)


def test_download_replaces_corrupt_cached_file(tmp_path, fake_mirror):
    data = tmp_path / "cache"
    fake_mnist(data / "mnist", gz=True)
    p = data / "mnist" / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(b"junk")
    ensure_image_files("mnist", data, mirrors=[uri(fake_mirror)])
    assert p.read_bytes() == (fake_mirror / p.name).read_bytes()


def test_download_unwritable_data_dir(tmp_path, fake_mirror):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatasetError, match="NNVIZ_DATA_DIR"):
        ensure_image_files("mnist", blocker, mirrors=[uri(fake_mirror)])


def test_unknown_image_dataset():
    with pytest.raises(DatasetError, match="cifar"):
        ensure_image_files("cifar", download=False)


@pytest.fixture
def http_server(tmp_path):
    """A loopback HTTP server serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def test_download_over_http(tmp_path, fake_mirror, http_server):
    root, base = http_server
    good = root / "good"
    good.mkdir()
    for f in fake_mirror.iterdir():
        (good / f.name).write_bytes(f.read_bytes())
    totals = []
    folder = ensure_image_files(
        "mnist",
        tmp_path / "cache",
        mirrors=[base + "missing/", base + "good/"],
        progress=lambda f, d, t: totals.append(t),
    )
    assert all(t > 0 for t in totals)  # Content-Length known
    assert (folder / "train-labels-idx1-ubyte.gz").read_bytes() == (
        good / "train-labels-idx1-ubyte.gz"
    ).read_bytes()
    with pytest.raises(DatasetError, match="404"):
        ensure_image_files("mnist", tmp_path / "cache2", mirrors=[base + "missing/"])


def test_download_cancel_over_http_removes_partial(tmp_path, fake_mirror, http_server, monkeypatch):
    monkeypatch.setattr(download, "CHUNK", 256)
    root, base = http_server
    for f in fake_mirror.iterdir():
        (root / f.name).write_bytes(f.read_bytes())
    seen = []
    with pytest.raises(DownloadCancelled):
        ensure_image_files(
            "mnist",
            tmp_path / "cache",
            mirrors=[base],
            progress=lambda f, d, t: seen.append(d),
            cancel=lambda: len(seen) >= 4,
        )
    assert 0 < max(seen) < (root / "train-images-idx3-ubyte.gz").stat().st_size  # stopped midway
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_cancel_is_honoured_while_a_server_has_stopped_answering(tmp_path, fake_mirror, monkeypatch):
    """A server sends part of a file, then nothing: Cancel returns at once, not after the read timeout."""
    monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT", 300.0)  # far longer than the guard below
    sent, release = threading.Event(), threading.Event()

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(1000))
            self.wfile.flush()
            sent.set()
            release.wait(60)  # stops answering until the test is over

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cancel, outcome = threading.Event(), {}

    def fetch():
        try:
            ensure_image_files(
                "mnist", tmp_path / "cache", mirrors=[f"http://127.0.0.1:{srv.server_address[1]}/"],
                cancel=cancel.is_set,
            )  # fmt: skip
        except Exception as e:
            outcome["error"] = e

    worker = threading.Thread(target=fetch, daemon=True)
    try:
        worker.start()
        assert sent.wait(30), "the server never got the request"
        cancel.set()
        worker.join(30)  # a guard against hanging, not a time limit: the old code waited 300 s
        assert not worker.is_alive(), "cancel was not honoured while the server kept silent"
        assert not release.is_set()  # the server was still holding the connection open
        assert isinstance(outcome.get("error"), DownloadCancelled), outcome
        assert list((tmp_path / "cache" / "mnist").iterdir()) == []  # no partial file left
    finally:
        release.set()
        srv.shutdown()
        srv.server_close()


def test_progress_object_pooch_drives():
    """pooch sets total, updates by its chunk size, then resets and fills to the total."""
    calls = []
    bar = download._Progress("f.gz", lambda f, d, t: calls.append((d, t)), None)
    bar.total = 1000
    for _ in range(3):
        bar.update(400)  # the last chunk is shorter than pooch's chunk size
    bar.reset()
    bar.update(1000)
    bar.close()
    assert calls == [(0, 1000), (400, 1000), (800, 1000), (1000, 1000), (1000, 1000)]
    unknown = []
    bar = download._Progress("f.gz", lambda f, d, t: unknown.append((d, t)), None)
    bar.total = 0  # no Content-Length
    bar.update(10)
    bar.reset()
    bar.update(0)
    assert unknown == [(0, 0), (10, 0), (10, 0)]  # never goes backwards


def test_progress_object_raises_when_cancelled():
    bar = download._Progress("f.gz", None, lambda: True)
    bar.total = 10
    with pytest.raises(DownloadCancelled, match="f.gz"):
        bar.update(5)


# ------------------------------------------------------------------ real data


README_COUNTS = {
    "mnist": (
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    ),
    "fashion-mnist": ([6000] * 10, [1000] * 10),
}


@pytest.mark.parametrize("name", IMAGE_DATASETS)
def test_real_image_datasets(real_data_dir, name, monkeypatch):
    # Each file is hashed once, then trusted by its (path, size, mtime) until it changes;
    # the time a load takes is measured by benchmarks/dataset_load.py.
    monkeypatch.setattr(checksums, "_VERIFIED", {})
    hashed = []
    real = checksums.sha256_file
    monkeypatch.setattr(checksums, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    d = load_dataset(DatasetSpec(name=name), real_data_dir, download=False)
    assert sorted(hashed) == sorted(f.filename for f in D.entry(name).files)
    assert d.kind == "image" and d.input_shape == (28, 28, 1) and d.n_classes == 10
    assert d.x_train.shape == (60000, 28, 28, 1) and d.x_test.shape == (10000, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert len(d.x_val) == 0
    train_counts, test_counts = README_COUNTS[name]
    assert np.bincount(d.y_train, minlength=10).tolist() == train_counts
    assert np.bincount(d.y_test, minlength=10).tolist() == test_counts
    assert d.class_names == D.entry(name).class_names
    d2 = load_dataset(
        DatasetSpec(name=name, validation_split=0.1, train_limit=1000, seed=3),
        real_data_dir,
        download=False,
    )
    assert len(d2.x_train) == 1000 and len(d2.x_val) == 6000 and len(d2.x_test) == 10000
    assert len(hashed) == 4  # the second load hashed nothing


def test_fashion_class_names():
    assert D.entry("fashion-mnist").class_names == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )


def test_pinned_checksums_match_shared_sha256sums(real_data_dir):
    for name in IMAGE_DATASETS:
        sums = real_data_dir / name / "SHA256SUMS"
        if not sums.is_file():  # the app's cache or an NNVIZ_DATA_DIR has the data, not the lists
            pytest.skip(f"{sums} is not there")
        for line in sums.read_text().splitlines():
            digest, fname = line.split()
            assert D.entry(name).file(fname.removesuffix(".gz")).sha256 == digest


def test_core_datasets_imports_no_jax_or_qt():
    code = (
        "import sys, nnviz.core.datasets; "
        "bad = [m for m in ('jax', 'flax', 'PySide6', 'pyqtgraph') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ values and labels refused on load


def test_float_idx_with_nan_names_the_file_and_first_bad_sample(tmp_path):
    imgs = np.zeros((6, 3, 3), np.float32)
    imgs[4, 0, 0], imgs[5, 1, 1] = np.nan, np.inf
    p = write_idx(tmp_path / "imgs-idx3-ubyte", imgs)
    with pytest.raises(DatasetError, match=r"imgs-idx3-ubyte: sample 4 \(counting from 0\) holds NaN"):
        load_idx(p)


def test_scaling_that_would_overflow_is_refused(tmp_path):
    """A nearly constant training feature scales test values beyond float32: refuse, not inf."""
    p = tmp_path / "tiny.npz"
    x_tr = np.array([[0.0, 1e-300], [1.0, 2e-300], [0.5, 1e-300]])
    np.savez(p, x_train=x_tr, y_train=[0, 1, 0], x_test=np.array([[0.5, 1.0]]), y_test=[1])
    with pytest.raises(DatasetError, match="tiny.npz: the test data scaled to the training data's range"):
        load_dataset(DatasetSpec(name="files", path=str(p), validation_split=0.0))


@pytest.mark.parametrize(
    ("labels", "ok"),
    [([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], True), ([3, 7], True), ([1, 2], True), ([0, 5], True),
     ([0, 1, 2, 255], False), ([0, 1, 100], False), ([0, 1, 2, 254, 255], False)],
)  # fmt: skip
def test_a_class_number_far_beyond_the_others_is_refused(labels, ok):
    from nnviz.core.datasets.labels import labels_from_arrays

    train = np.array(labels * 3, np.uint8)
    if ok:
        (y, _), names = labels_from_arrays([train, train], "f")
        assert names == tuple(map(str, sorted(labels))) and y.max() == len(labels) - 1
    else:
        with pytest.raises(DatasetError, match=r"sample \d+ \(counting from 0\) has the label"):
            labels_from_arrays([train, train], "f")


def test_csv_header_rule():
    from nnviz.core.datasets.csvfile import is_header

    assert is_header(["label", "x", "y"], ["0", "1"])  # a word among the features
    assert is_header(["label", "0", "1"], ["0", "1"])  # numbered columns, numeric labels
    assert is_header(["species", "0", "1"], ["setosa", "virginica"])  # no row is labelled "species"
    assert not is_header(["setosa", "5.1", "3.5"], ["setosa", "virginica"])  # a sample of a named class
    assert not is_header(["0", "5.1", "3.5"], ["0", "1"])
