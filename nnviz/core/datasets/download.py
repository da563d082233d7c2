"""Finding the official image-set files locally, and downloading the missing ones.

Downloads go through pooch: it has each file streamed into a temporary file beside the
target, checks the pinned sha256 and only then moves it into place, so a half-written
or wrong file never appears under the final name. Around it, this module tries the
mirrors in order, reports progress and lets the caller cancel (the progress object
raises :class:`DownloadCancelled`; pooch then deletes the partial file). The HTTP reads
happen on a helper thread, so Cancel is answered within CANCEL_POLL seconds even while
a server that stopped answering keeps a read waiting.
"""

from __future__ import annotations

import queue
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from .catalogue import DataFile, entry, names
from .checksums import find_verified, verified_paths
from .errors import DatasetError, DownloadCancelled
from .folders import resolve_data_dir

ProgressFn = Callable[[str, int, int], None]
CancelFn = Callable[[], bool]


DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a mirror counts as failed
CANCEL_POLL = 0.1  # seconds between looks at cancel while a server keeps us waiting
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
    ds = entry(name)
    root = resolve_data_dir(data_dir)
    folder = root / name
    problems: list[str] = []
    missing = [f for f in ds.files if find_verified(folder, f, problems) is None]
    if not missing:
        return folder
    for sysdir in ds.system_dirs:
        if verified_paths(Path(sysdir), ds) is not None:
            return Path(sysdir)
    if not download:
        bad = ("\nProblems found:\n  " + "\n  ".join(problems)) if problems else ""
        raise DatasetError(
            f"{ds.title} files are missing from {folder}: "
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
    bases = list(mirrors) if mirrors is not None else list(ds.mirrors)
    for file in missing:
        _download_file(name, file, folder, bases, progress, cancel)
    return folder


def _download_file(name, file: DataFile, folder: Path, mirrors, progress, cancel) -> Path:
    """Fetch ``file`` from the first mirror whose bytes match the pinned sha256."""
    import pooch

    pooch.get_logger().setLevel("WARNING")  # pooch says "Downloading ..." at INFO on stderr
    filename = file.filename
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        if cancel is not None and cancel():
            raise DownloadCancelled(f"Download of {filename} was cancelled.")
        bar = _Progress(filename, progress, cancel)
        try:
            path = pooch.retrieve(
                url,
                known_hash=f"sha256:{file.sha256}",
                fname=filename,
                path=folder,
                downloader=_downloader(url, bar),
            )
            return Path(path)
        except DownloadCancelled:
            raise
        except OSError as e:  # requests' errors are OSErrors too (HTTP status, no connection)
            failures.append(f"{url}: {e.strerror or e}")
        except ValueError as e:  # pooch: the sha256 did not match (the file was deleted)
            failures.append(f"{url}: checksum mismatch, the file was refused ({e})")
    if not failures:
        raise DatasetError(f"No download mirrors are configured for {filename}.")
    raise DatasetError(
        f"Could not download {filename} into {folder}. Every mirror failed:\n  "
        + "\n  ".join(failures)
        + "\nCheck your internet connection, or download the files yourself and put them "
        f"in {folder} (or point NNVIZ_DATA_DIR / --data-dir at a folder containing '{name}/')."
    )


def _downloader(url: str, bar: _Progress):
    """An HTTP(S) download that answers cancel at once, or for a file:// mirror a local copy that drives ``bar`` alike."""
    if urllib.parse.urlparse(url).scheme == "file":
        return lambda url, output_file, _pooch: _copy_file_url(url, output_file, bar)
    return lambda url, output_file, _pooch: _http_download(url, output_file, bar)


def _http_download(url: str, output_file: str, bar: _Progress) -> None:
    """Stream ``url`` into ``output_file``, asking ``bar`` about cancel every CANCEL_POLL seconds.

    The blocking reads (waiting for the server to answer, then for each chunk) run on a
    helper thread, so a server that stops answering cannot hold a Cancel for the whole
    DOWNLOAD_TIMEOUT: this thread waits on the helper's queue in short slices and checks
    cancel between them. The helper is a daemon and ends within DOWNLOAD_TIMEOUT itself
    (its socket timeout), or as soon as the server sends or closes.
    """
    chunks: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()

    def fetch() -> None:
        import requests

        def put(item) -> bool:  # False once the download was given up
            while not stop.is_set():
                try:
                    chunks.put(item, timeout=CANCEL_POLL)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with requests.get(
                url, stream=True, timeout=DOWNLOAD_TIMEOUT, headers={"User-Agent": "nnviz"}
            ) as response:
                response.raise_for_status()
                if not put(("total", int(response.headers.get("content-length") or 0))):
                    return
                for chunk in response.iter_content(chunk_size=CHUNK):
                    if chunk and not put(("data", chunk)):
                        return
            put(("done", None))
        except Exception as e:  # handed to the waiting thread, which raises it there
            put(("error", e))

    threading.Thread(target=fetch, name="nnviz-download", daemon=True).start()
    try:
        with open(output_file, "wb") as out:
            waited = 0.0
            while True:
                bar.check_cancel()
                try:
                    kind, value = chunks.get(timeout=CANCEL_POLL)
                except queue.Empty:
                    waited += CANCEL_POLL
                    if waited >= DOWNLOAD_TIMEOUT:
                        raise OSError(f"the server sent nothing for {DOWNLOAD_TIMEOUT:g} s") from None
                    continue
                waited = 0.0
                if kind == "total":
                    bar.total = value
                elif kind == "data":
                    out.write(value)
                    bar.update(len(value))
                elif kind == "error":
                    raise value
                else:
                    break
    finally:
        stop.set()
    bar.reset()
    bar.update(bar.total or bar.n)
    bar.close()


def _copy_file_url(url: str, output_file: str, bar: _Progress) -> None:
    """Copy a file:// URL in chunks, as pooch's downloaders stream one (a folder as a mirror)."""
    source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    with open(source, "rb") as src, open(output_file, "wb") as out:
        bar.total = source.stat().st_size
        for chunk in iter(lambda: src.read(CHUNK), b""):
            out.write(chunk)
            bar.update(len(chunk))
    bar.close()


class _Progress:
    """The progress bar pooch's downloaders drive (``total``, ``update``, ``reset``, ``close``).

    It turns their calls into ``progress(filename, bytes_done, bytes_total)`` (0 while the
    total is unknown; never going backwards) and asks ``cancel()`` at every chunk, raising
    :class:`DownloadCancelled` out of the download when it says so.
    """

    def __init__(self, filename: str, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        self.filename, self._progress, self._cancel = filename, progress, cancel
        self._total = 0
        self.n = 0  # bytes counted since the start or the last reset
        self._shown = 0  # the most reported so far

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value) -> None:  # set once the server has answered, before the first chunk
        self._total = int(value or 0)
        self._report()

    def check_cancel(self) -> None:
        """Raise :class:`DownloadCancelled` when ``cancel()`` says so."""
        if self._cancel is not None and self._cancel():
            raise DownloadCancelled(f"Download of {self.filename} was cancelled.")

    def update(self, n: int) -> None:
        # Checked per chunk so the GUI's Cancel button answers within one chunk.
        self.check_cancel()
        self.n += int(n)
        self._report()

    def reset(self) -> None:  # pooch resets, then updates by the total, to fill the bar at the end
        self.n = 0

    def close(self) -> None:
        pass

    def _report(self) -> None:
        done = min(self.n, self._total) if self._total else self.n
        self._shown = max(self._shown, done)
        if self._progress is not None:
            self._progress(self.filename, self._shown, self._total)
