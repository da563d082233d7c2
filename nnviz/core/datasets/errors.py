class DatasetError(Exception):
    """A clear, user-facing message that names the file and what is wrong.

    Every failure a user can cause (missing/corrupt file, failed download, impossible
    settings) ends up as this type so the GUI can catch one exception and show its text.
    """


class DownloadCancelled(DatasetError):
    """The user cancelled a download via the ``cancel`` callback; no partial file is left."""
