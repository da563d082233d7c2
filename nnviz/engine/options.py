"""How a training session runs: where its data comes from and how often it reports.

``SessionOptions`` holds every setting of a session that is not the project itself;
none changes what is learned (the project's TrainingConfig does that), except
``epochs``, which replaces the project's epoch count and step limit. It is frozen and
made of plain values, so one object can be kept as a constant (the window's), passed
through the bridge and sent to the engine process as it is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionOptions:
    # ---- the data
    data_dir: str | None = None  # where datasets are found and downloaded to (None: the default)
    download: bool = True  # fetch a missing dataset (False: fail instead)
    # ---- what the run trains, when not the project's own settings
    epochs: int | None = None  # an explicit epoch count, replacing the project's epochs and step limit
    # ---- reports
    probe_size: int = 32  # samples whose activations every Snapshot carries
    snapshot_interval: float = 0.1  # seconds between snapshots at full speed (0: after every chunk)
    progress_interval: float = 0.1  # seconds between Progress messages at full speed
    eval_batch: int = 1000  # samples per evaluation batch (one compiled shape)
    plane_resolution: int = 64  # grid points along each side of the decision plane (2D data)
    # With ``path_points``, the weights of every snapshot made (not only those a busy
    # window took) are recorded for the loss surface's path, at most that many points
    # and training_run.PATH_BYTES, thinned evenly as the run goes on (0: none).
    path_points: int = 0
    # ---- pace
    chunk_seconds: float = 0.2  # the time one call of the training loop aims at (chunking.ChunkSizer)
    max_chunk: int = 256  # the most steps one call may take (at most training.CHUNK_CAP)
    frame_seconds: float = 1 / 30  # one slow-motion frame
