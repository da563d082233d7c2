"""Finding the official image-set files locally, and downloading the missing ones."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from .catalogue import DataFile, entry, names
from .checksums import find_verified, verified_paths, verify_local
from .errors import DatasetError, DownloadCancelled
from .folders import resolve_data_dir

ProgressFn = Callable[[str, int, int], None]
CancelFn = Callable[[], bool]


DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a mirror counts as failed
CHUNK = 1 << 16


def ensure_image_files(
    name: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    mirrors: Iterable[str] | None = None,
) -> Path:
    """Return the folder that holds the 4 verified IDX files of ``name``.

    Looks in ``<data dir>/<name>/`` (and, for Fashion-MNIST, the Debian package folder);
    missing or corrupt files are downloaded into ``<data dir>/<name>/`` when ``download``
    is true. ``mirrors`` overrides the entry's mirrors in the catalogue (tests use file://).
    """
    image_sets = names("image")
    if name not in image_sets:
        raise DatasetError(f"Unknown image dataset '{name}'; choose one of {', '.join(image_sets)}.")
    e = entry(name)
    root = resolve_data_dir(data_dir)
    folder = root / name
    problems: list[str] = []
    missing = [f for f in e.files if find_verified(folder, f, problems) is None]
    if not missing:
        return folder
    for sysdir in e.system_dirs:
        if verified_paths(Path(sysdir), e) is not None:
            return Path(sysdir)
    if not download:
        bad = ("\nProblems found:\n  " + "\n  ".join(problems)) if problems else ""
        raise DatasetError(
            f"{e.title} files are missing from {folder}: "
            f"{', '.join(m.name + '(.gz)' for m in missing)}.{bad}\n"
            f"Downloading is turned off. Either put the four files there, point "
            f"NNVIZ_DATA_DIR (or --data-dir) at a folder that contains '{name}/', "
            f"or allow downloading."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"Cannot create the data folder {folder} ({e.strerror or e}). "
            f"Set NNVIZ_DATA_DIR (or --data-dir) to a writable folder."
        ) from None
    bases = list(mirrors) if mirrors is not None else list(e.mirrors)
    for file in missing:
        _download_file(name, file, folder, bases, progress, cancel)
    return folder


def _download_file(name, file: DataFile, folder: Path, mirrors, progress, cancel) -> Path:
    """Fetch ``file`` from the first mirror whose bytes match the pinned sha256."""
    filename = file.filename
    target = folder / filename
    sums = file
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        if cancel is not None and cancel():
            raise DownloadCancelled(f"Download of {filename} was cancelled.")
        try:
            _fetch_verified(url, filename, target, sums, progress, cancel)
            return target
        except DownloadCancelled:
            raise
        except DatasetError as e:
            failures.append(f"{url}: {e}")
    if not failures:
        raise DatasetError(f"No download mirrors are configured for {filename}.")
    raise DatasetError(
        f"Could not download {filename} into {folder}. Every mirror failed:\n  "
        + "\n  ".join(failures)
        + "\nCheck your internet connection, or download the files yourself and put them "
        f"in {folder} (or point NNVIZ_DATA_DIR / --data-dir at a folder containing '{name}/')."
    )


def _fetch_verified(url, filename, target: Path, sums, progress, cancel) -> None:
    """Stream ``url`` into a temp file next to ``target``; verify, then atomically rename.

    The temp file lives in the target folder so ``os.replace`` is a same-filesystem
    rename: readers never see a half-written file under the final name.
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix="." + filename + ".", suffix=".part", dir=target.parent)
        out = os.fdopen(fd, "wb")
    except OSError as e:
        raise DatasetError(f"cannot write into {target.parent} ({e.strerror or e})") from None
    tmp = Path(tmp_name)
    done = False
    try:
        h = hashlib.sha256()
        got_bytes = 0
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "nnviz"})
            with out, urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT) as resp:
                total = int(resp.headers.get("Content-Length") or 0)
                if progress is not None:
                    progress(filename, 0, total)
                while True:
                    # Checked per chunk so the GUI's Cancel button answers within ~64 KiB.
                    if cancel is not None and cancel():
                        raise DownloadCancelled(f"Download of {filename} was cancelled.")
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got_bytes += len(chunk)
                    if progress is not None:
                        progress(filename, got_bytes, total)
        except DatasetError:
            raise
        except urllib.error.HTTPError as e:
            raise DatasetError(f"HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            raise DatasetError(f"{e.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise DatasetError(f"{type(e).__name__}: {e}") from None
        if total and got_bytes != total:
            raise DatasetError(f"download of {filename} stopped after {got_bytes} of {total} bytes")
        got = h.hexdigest()
        # Verify BEFORE the rename: a bad file never appears under the final name.
        # A mirror may serve the same IDX content re-compressed; verify_local accepts that.
        if got != sums.sha256 and verify_local(tmp, sums) is not None:
            raise DatasetError(
                f"checksum mismatch for {filename}: got sha256 {got}, expected {sums.sha256}; "
                f"the file was refused"
            )
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise DatasetError(f"cannot save {target} ({e.strerror or e})") from None
        done = True
    finally:
        out.close()
        if not done:
            try:
                tmp.unlink()
            except OSError:
                pass
