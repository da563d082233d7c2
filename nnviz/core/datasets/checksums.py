"""Checking local files against the pinned sha256 (cached per file state)."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

from .catalogue import DataFile, DatasetEntry

# (path, size, mtime_ns) -> True once a file's checksum matched. Re-hashing MNIST on every
# load would cost time for nothing; a changed file gets a new key and is hashed again.
_VERIFIED: dict[tuple[str, int, int], bool] = {}


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat_key(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def verify_local(path: Path, file: DataFile) -> str | None:
    """None if ``path`` matches the pinned checksum, else a sentence saying why not.

    A .gz verifies by its own sha256 or (re-compressed copies) by its content's sha256;
    a raw file by the decompressed-file sha256.
    """
    try:
        key = _stat_key(path)
        if _VERIFIED.get(key):
            return None
        if path.name.endswith(".gz"):
            got = sha256_file(path)
            if got == file.sha256:
                _VERIFIED[key] = True
                return None
            try:
                content = gzip.decompress(path.read_bytes())
            except (OSError, EOFError, zlib.error) as e:
                return f"{path} is not a valid gzip file ({e})"
            got_raw = hashlib.sha256(content).hexdigest()
            if got_raw == file.sha256_raw:
                _VERIFIED[key] = True
                return None
            return (
                f"{path} has sha256 {got} (content {got_raw}); "
                f"expected {file.sha256} (content {file.sha256_raw})"
            )
        got = sha256_file(path)
        if got == file.sha256_raw:
            _VERIFIED[key] = True
            return None
        return f"{path} has sha256 {got}; expected {file.sha256_raw}"
    except OSError as e:
        return f"cannot read {path} ({e.strerror or e})"


def find_verified(folder: Path, file: DataFile, problems: list[str]) -> Path | None:
    """The verified copy of ``file`` in ``folder`` (.gz preferred, then raw), else None.

    Each copy that is there but does not match adds a sentence to ``problems``.
    """
    for candidate in (folder / file.filename, folder / file.name):
        if candidate.is_file():
            why = verify_local(candidate, file)
            if why is None:
                return candidate
            problems.append(why)
    return None


def verified_paths(folder: Path, entry: DatasetEntry) -> list[Path] | None:
    """The verified copies of all of ``entry``'s files in ``folder``, in order; None if any is missing."""
    found = [find_verified(folder, f, []) for f in entry.files]
    return None if any(p is None for p in found) else found
