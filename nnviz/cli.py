"""The headless command line: train a project or preset, print a Keras-style summary, draw its loss surface.

Every expected failure (invalid network, bad file, missing data) prints a message and
exits with status 2; an internal error prints one line naming the log file that holds
its traceback and exits with status 1. Nothing here shows a traceback to the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import logs
from .core import datasets
from .core.datasets import DatasetError, DatasetSpec, load_dataset
from .core.graph import analyze
from .core.layers import Context, shape_text
from .core.optimizers import OPTIMIZERS
from .core.presets import load_preset, preset_names
from .core.project import TRAINING_SETTINGS, Project, ProjectError
from .engine.surface.results import METHODS
from .subcommands import SUBCOMMANDS

EXIT_USAGE = 2  # bad input: the message says what to change
EXIT_INTERNAL = 1  # nnviz's own fault: one line, the traceback in the log file

_log = logging.getLogger(__name__)


class CliError(Exception):
    """A user-facing failure: printed as is, exit status 2."""


def checked(project, data_dir):
    """The dataset's context and the network's analysis, or a CliError saying what is wrong."""
    problems = project.training.validate()
    if problems:
        raise CliError("the training settings are not valid: " + "; ".join(problems))
    ctx = dataset_context(project.dataset, data_dir)
    analysis = analyze(project.network, ctx)
    if not analysis.ok:
        raise CliError(
            "the network is not valid:\n" + "\n".join(f"  - {m}" for m in analysis.messages(project.network))
        )
    return ctx, analysis


def _folders_text(names) -> str:
    """ "a/, b/ and c/": the folders a data directory holds, one per downloaded dataset."""
    folders = [f"{n}/" for n in names]
    return ", ".join(folders[:-1]) + " and " + folders[-1] if len(folders) > 1 else "".join(folders)


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", nargs="?", help="project file (.json)")
    p.add_argument("--preset", metavar="NAME", help="use a shipped example instead of a file")
    p.add_argument(
        "--dataset",
        metavar="NAME",
        choices=[n for n in datasets.names() if datasets.entry(n).kind != "files"],
        help="use this dataset instead of the project's (`nnviz datasets` lists them)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"folder holding {_folders_text(datasets.names('image'))} "
        "(default: $NNVIZ_DATA_DIR or the cache)",
    )


def _add_training_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="override the project's number of epochs")
    p.add_argument("--seed", type=int, help="override the project's random seed")
    p.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        help="override the project's optimizer: "
        + ", ".join(f"{o.name} ({o.title})" for o in OPTIMIZERS.values()),
    )
    p.add_argument("--learning-rate", type=float, metavar="LR", help="override the project's learning rate")


def _apply_training_overrides(project: Project, args) -> Project:
    """The project with the overrides given on the command line, checked as a project file's are."""
    changes = {
        name: value
        for name, value in (
            ("epochs", args.epochs),
            ("seed", args.seed),
            ("optimizer", args.optimizer),
            ("learning_rate", args.learning_rate),
        )
        if value is not None
    }
    for name, value in changes.items():
        problem = TRAINING_SETTINGS[name].problem(value)
        if problem:
            raise CliError(f"--{name.replace('_', '-')}: {problem}")
    if "epochs" in changes:
        changes["max_steps"] = 0
    return project.with_training(**changes) if changes else project


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnviz",
        description="Build neural networks and watch them learn. Without a command, opens the desktop app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help=SUBCOMMANDS["train"])
    _add_source(t)
    _add_training_overrides(t)
    t.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    t.add_argument("--save-weights", metavar="FILE", help="write the trained weights to FILE")
    t.add_argument("--no-download", action="store_true", help="fail instead of downloading datasets")

    s = sub.add_parser("summary", help=SUBCOMMANDS["summary"])
    _add_source(s)

    sub.add_parser("presets", help=SUBCOMMANDS["presets"])
    sub.add_parser("datasets", help=SUBCOMMANDS["datasets"])

    f = sub.add_parser(
        "surface",
        help=SUBCOMMANDS["surface"],
        description="Train a project (or load its saved weights), compute its loss surface "
        "on a fixed subset of the training samples and write it as a PNG. Without a project, "
        "--method exact uses a built-in neuron with two weights.",
    )
    _add_source(f)
    f.add_argument(
        "--method",
        choices=tuple(METHODS),
        default="pca",
        help="pca: the plane of the descent (default); random: two filter-normalised random "
        "directions around the weights; line: from the initial to the trained weights; "
        "exact: a model with exactly two weights; race: every optimizer from the same start",
    )
    f.add_argument("--grid", type=int, default=31, metavar="N", help="grid points per side (default 31)")
    f.add_argument(
        "--samples",
        type=int,
        default=1000,
        metavar="N",
        help="training samples the loss is measured on (default 1000)",
    )
    f.add_argument(
        "--out",
        metavar="FILE.png",
        help="write the picture here (default: <project>-<method>.png; none with --json unless given)",
    )
    f.add_argument("--json", action="store_true", help="print one JSON object: the grid, the path, seconds")
    _add_training_overrides(f)
    f.add_argument(
        "--steps", type=int, help="train only this many steps (race: steps per optimizer, default 200)"
    )
    f.add_argument(
        "--saved-weights",
        action="store_true",
        help="use the weights saved beside the project (NAME.weights.msgpack) instead of training",
    )
    f.add_argument("--log", action="store_true", help="colour the loss on a log scale")
    f.add_argument("--no-download", action="store_true", help="fail instead of downloading datasets")
    return parser


def _load_project(args) -> Project:
    if args.preset and args.project:
        raise CliError("give either a project file or --preset, not both")
    if args.preset:
        project = load_preset(args.preset)
    elif not args.project:
        raise CliError("give a project file or --preset NAME (see `nnviz presets`)")
    else:
        project = Project.load(args.project)
    if getattr(args, "dataset", None):
        project.dataset = replace(project.dataset, name=args.dataset)
    return project


def dataset_context(spec: DatasetSpec, data_dir: str | None) -> Context:
    """The input shape and class count of a dataset: the catalogue's, or user files' once read."""
    shape = datasets.input_shape(spec.name) if spec.name in datasets.CATALOGUE else None
    if shape is not None:
        return Context(shape, datasets.n_classes(spec.name), datasets.title(spec.name))
    ds = load_dataset(spec, data_dir, download=False)
    return Context(tuple(ds.input_shape), ds.n_classes, ds.name)


def cmd_summary(args) -> int:
    project = _load_project(args)
    ctx = dataset_context(project.dataset, args.data_dir)
    net = project.network
    analysis = analyze(net, ctx)
    order = analysis.order or list(net.nodes)
    rows = [
        (
            net.nodes[n].name,
            net.nodes[n].type,
            shape_text(analysis.shapes.get(n)),
            f"{analysis.param_counts.get(n, 0):,}",
        )
        for n in order
    ]
    head = ("Node", "Type", "Output shape", "Params")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    print(
        f'Network "{project.name}" on {ctx.dataset_name} (input {shape_text(ctx.input_shape)}, '
        f"{ctx.n_classes} classes)"
    )
    print(line.format(*head))
    print("-" * (sum(widths) + 6))
    for r in rows:
        print(line.format(*r))
    print("-" * (sum(widths) + 6))
    print(f"Total params: {analysis.total_params:,}")
    if not analysis.ok:
        print("\nThe network is not valid:", file=sys.stderr)
        for msg in analysis.messages(net):
            print(f"  - {msg}", file=sys.stderr)
        return EXIT_USAGE
    return 0


class _ProgressBar:
    """One line per epoch, redrawn in place on a terminal."""

    def __init__(self, stream, training) -> None:
        # A step limit ends the run inside some epoch: then the steps are the measure.
        self.stream, self.total = stream, (None if training.max_steps else training.epochs)
        self.tty = stream.isatty()
        self.last_draw = 0.0

    def __call__(self, msg) -> None:
        from .engine.messages import Compiling, EpochEnd, Loading, Progress

        if isinstance(msg, Loading):
            if msg.total:
                self._draw(f"{msg.what}: {msg.done / msg.total:5.1%}", final=msg.done >= msg.total)
            else:
                self._draw(msg.what + " ...", final=not self.tty)
        elif isinstance(msg, Compiling):
            self._draw(f"Compiling {msg.what} ...", final=not self.tty)
        elif isinstance(msg, Progress):
            now = time.monotonic()
            if self.tty and now - self.last_draw > 0.1:
                self.last_draw = now
                filled = int(msg.epoch_fraction * 30)
                self._draw(
                    f"{self._epoch(msg.epoch, msg)} [{'#' * filled}{'.' * (30 - filled)}] "
                    f"loss {msg.train_loss:.4f}  acc {msg.train_accuracy:.4f}  "
                    f"{msg.samples_per_second / 1000:.1f}k samples/s"
                )
        elif isinstance(msg, EpochEnd):
            val = (
                ""
                if math.isnan(msg.val_loss)
                else f"  val_loss {msg.val_loss:.4f}  val_acc {msg.val_accuracy:.4f}"
            )
            self._draw(
                f"{self._epoch(msg.epoch)} [{'#' * 30}] {msg.seconds:.1f}s  "
                f"loss {msg.train_loss:.4f}  acc {msg.train_accuracy:.4f}{val}  "
                f"test_loss {msg.test_loss:.4f}  test_acc {msg.test_accuracy:.4f}",
                final=True,
            )

    def _epoch(self, epoch: int, progress=None) -> str:
        if self.total is not None:
            return f"Epoch {epoch}/{self.total}"
        return f"Epoch {epoch}" + (
            f" · step {progress.step:,}/{progress.total_steps:,}" if progress is not None else ""
        )

    def _draw(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()


def cmd_train(args) -> int:
    from .engine.messages import Failed
    from .engine.options import SessionOptions
    from .engine.session import TrainingSession

    project = _apply_training_overrides(_load_project(args), args)
    ctx, analysis = checked(project, args.data_dir)

    if args.save_weights:  # find out now, not after a long training run
        target = Path(args.save_weights).resolve().parent
        if not target.is_dir() or not os.access(target, os.W_OK):
            raise CliError(f"cannot write weights to {args.save_weights}: {target} is not a writable folder")
    bar = None if args.json else _ProgressBar(sys.stderr, project.training)
    options = SessionOptions(
        data_dir=args.data_dir, download=not args.no_download, snapshot_interval=math.inf
    )
    if analysis.total_params == 0:
        raise CliError(
            "the network has no weights, so there is nothing to learn: add a Dense or Conv2D layer "
            "between the input and the output"
        )
    session = TrainingSession(project, options, on_message=bar)
    result = session.run()
    failed = isinstance(result, Failed)
    if failed and session.final_params is None:  # nothing was trained: nothing to keep
        raise CliError(result.reason)
    if args.save_weights:  # after a divergence: the last good weights, as the message says
        session.save_weights(args.save_weights)
    history = [
        {
            "epoch": e.epoch,
            "train_loss": e.train_loss,
            "train_accuracy": e.train_accuracy,
            "test_loss": e.test_loss,
            "test_accuracy": e.test_accuracy,
            "seconds": e.seconds,
        }
        for e in session.history
    ]
    if failed:  # diverged: say so, and still give what a script asked for
        if args.json:
            print(json.dumps({"project": project.name, "stopped": True, "error": result.reason,
                              "steps": result.step, "history": history}))  # fmt: skip
        if args.save_weights:
            print(f"wrote the weights from step {result.step} to {args.save_weights}", file=sys.stderr)
        raise CliError(result.reason)
    m = dict(result.metrics)
    if args.json:
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}
        out["project"] = project.name
        out["stopped"] = result.reason != "completed"
        out["history"] = history
        print(json.dumps(out))
        return 0
    rows = [("train", m["train_loss"], m["train_accuracy"])]
    if not math.isnan(m["val_loss"]):
        rows.append(("validation", m["val_loss"], m["val_accuracy"]))
    rows.append(("test", m["test_loss"], m["test_accuracy"]))
    print(
        f"\n{project.name}: {m['epochs']} epochs, {m['steps']} steps, {m['params']:,} parameters, "
        f"{m['seconds']:.1f} s"
    )
    print(f"{'split':<12}{'loss':>10}{'accuracy':>10}")
    for name, loss, acc in rows:
        print(f"{name:<12}{loss:>10.4f}{acc:>10.4f}")
    return 0


def cmd_presets(args) -> int:
    for name in preset_names():
        p = load_preset(name)
        print(f"{name:<24} {p.name}")
    return 0


def cmd_datasets(args) -> int:
    for name in datasets.names():
        e = datasets.entry(name)
        if e.kind == "files":  # a project's own files, not a choice for --dataset
            continue
        what = f"input {shape_text(e.sample_shape)}, {e.n_classes} classes"
        print(f"{name:<16} {e.title:<16} {what:<28} {e.description}")
    return 0


class _SurfaceProgress:
    """ "Loss surface: 40 %" on stderr, redrawn in place on a terminal, every tenth otherwise."""

    def __init__(self, stream) -> None:
        self.stream, self.tty, self.last = stream, stream.isatty(), -1

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if self.tty:
            self.stream.write(
                f"\r\x1b[2KLoss surface: {done / max(total, 1):4.0%} ({done}/{total} points)"
                + ("\n" if done >= total else "")
            )
        elif tenth != self.last:
            self.stream.write(f"Loss surface: {done / max(total, 1):.0%}\n")
        self.last = tenth
        self.stream.flush()


def _surface_project(args) -> tuple[Project, Path | None]:
    from .engine.surface import two_weight_project

    if args.method == "exact" and not args.preset and not args.project:
        return two_weight_project(), None
    project = _load_project(args)
    return project, (Path(args.project) if args.project else None)


def render_surface_png(surface, path, *, log: bool = False, size: tuple[int, int] = (960, 720)) -> Path:
    """Draw ``surface`` with the app's SurfacePanel, off screen, into a PNG.

    Qt is imported here only: the other commands (and core and engine) never load it.
    Without a display, Qt's offscreen platform is used.
    """
    if not os.environ.get("QT_QPA_PLATFORM") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from .qt.panels.surface import SurfacePanel

    app = QApplication.instance() or QApplication(["nnviz"])
    panel = SurfacePanel()
    try:
        panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        panel.resize(*size)
        panel.set_log_scale(log)
        panel.set_surface(surface)
        panel.show()
        app.processEvents()
        return panel.export(path)
    finally:
        panel.close()
        panel.deleteLater()
        app.processEvents()


def cmd_surface(args) -> int:
    from .core.datasets import load_dataset
    from .core.project import WEIGHTS_SUFFIX
    from .engine import surface as sf
    from .engine.messages import Failed
    from .engine.options import SessionOptions
    from .engine.session import TrainingSession

    if not 2 <= args.grid <= 501:
        raise CliError("--grid must be from 2 to 501")
    if args.samples < 1:
        raise CliError("--samples must be at least 1")
    if args.steps is not None and args.steps < 1:
        raise CliError("--steps must be at least 1")
    project, project_path = _surface_project(args)
    project = _apply_training_overrides(project, args)
    if args.steps is not None and args.method != "race":
        project = project.with_training(max_steps=args.steps)
    ctx, analysis = checked(project, args.data_dir)
    if args.method == "exact" and analysis.total_params != 2:
        raise CliError(
            f"--method exact needs a network with exactly 2 weights; this one has "
            f"{analysis.total_params:,} (run `nnviz surface --method exact` without a project "
            "for the built-in two-weight neuron)"
        )
    weights_path = None
    if args.saved_weights:
        if project_path is None:
            raise CliError("--saved-weights needs a project file (the weights are read from beside it)")
        if args.method in ("pca", "race"):
            raise CliError(
                f"--method {args.method} needs a training path; saved weights have none "
                "(use random or line, or drop --saved-weights)"
            )
        name = project_path.name[:-5] if project_path.name.endswith(".json") else project_path.stem
        weights_path = project_path.with_name(name + WEIGHTS_SUFFIX)
        if not weights_path.is_file():
            raise CliError(f"there are no saved weights at {weights_path} (train with --save-weights first)")
    out = args.out
    if out is None and not args.json:
        stem = args.preset or (project_path.stem if project_path else "two-weights")
        slug = "".join(c if c.isalnum() else "-" for c in stem)
        out = f"{slug}-{args.method}.png"
    if out is not None:
        target = Path(out).resolve().parent
        if not target.is_dir() or not os.access(target, os.W_OK):
            raise CliError(f"cannot write the picture to {out}: {target} is not a writable folder")
        if Path(out).suffix.lower() not in (".png", ".svg"):
            raise CliError(f"--out must end in .png or .svg (got {out})")

    t_start = time.perf_counter()
    quiet = args.json
    progress = None if quiet else _SurfaceProgress(sys.stderr)
    recorder = sf.TrajectoryRecorder(forward=None if quiet else _ProgressBar(sys.stderr, project.training))
    trained: dict = {}
    if weights_path is not None or args.method == "race":
        dataset = load_dataset(project.dataset, args.data_dir, download=not args.no_download)
    else:
        options = SessionOptions(
            data_dir=args.data_dir, download=not args.no_download, snapshot_interval=0.0, chunk_seconds=0.02
        )
        session = TrainingSession(project, options, on_message=recorder)
        result = session.run()
        if isinstance(result, Failed):
            raise CliError(result.reason)
        dataset = session.dataset
        trained = {"steps": result.step, "train_seconds": result.metrics.get("seconds")}
    landscape = sf.LossLandscape.from_project(
        project, dataset, samples=args.samples, seed=project.training.seed
    )
    trajectory = recorder.trajectory()
    if weights_path is not None:
        from .engine.weights import check_fits, load_weights

        saved, saved_types, step = load_weights(weights_path)
        expected: dict = {}
        for (nid, key), (_, _, shape) in landscape.layer_slices.items():
            expected.setdefault(nid, {})[key] = shape
        check_fits(saved, saved_types, expected, project.network, str(weights_path))
        theta_end = landscape.flatten(saved)
        trained = {"steps": step, "weights": str(weights_path)}
    elif len(trajectory):
        theta_end = trajectory.thetas[-1]
    else:
        theta_end = landscape.theta_init
    path = trajectory if len(trajectory) else None
    race_rates = None
    if args.method == "pca":
        surface = sf.trajectory_surface(landscape, trajectory, args.grid, progress=progress)
    elif args.method == "random":
        surface = sf.random_surface(
            landscape, theta_end, args.grid, seed=project.training.seed, trajectory=path, progress=progress
        )
    elif args.method == "line":
        surface = sf.line_surface(
            landscape, landscape.theta_init, theta_end, args.grid, trajectory=path, progress=progress
        )
    elif args.method == "exact":
        surface = sf.exact_surface(landscape, path, args.grid, progress=progress)
    else:
        result = sf.race(
            project,
            dataset,
            steps=args.steps or 200,
            samples=args.samples,
            resolution=args.grid,
            landscape=landscape,
            progress=progress,
        )
        surface, race_rates = result.surface, result.learning_rates
    written = render_surface_png(surface, out, log=args.log) if out is not None else None
    seconds = time.perf_counter() - t_start
    if args.json:
        data = surface.to_json()
        first = data["paths"][0] if data["paths"] else None
        print(
            json.dumps(
                {
                    "project": project.name,
                    "method": surface.method,
                    "labels": data["labels"],
                    "grid": {"a": data["a"], "b": data["b"], "loss": data["loss"]},
                    "path": first,
                    "paths": data["paths"],
                    "center_loss": data["center_loss"],
                    "explained_variance": data["explained_variance"],
                    "n_params": surface.n_params,
                    "samples": surface.samples,
                    "surface_seconds": surface.seconds,
                    "seconds": seconds,
                    "learning_rates": race_rates,
                    "trained": trained,
                    "out": str(written) if written else None,
                }
            )
        )
        return 0
    print(f"\n{project.name}: {surface.title.lower()}")
    print(
        f"{surface.n_params:,} parameters, loss on {surface.samples:,} training samples, "
        f"{args.grid}x{args.grid if not surface.is_line else 1} grid in {surface.seconds:.1f} s"
    )
    ev = surface.explained_variance
    if all(math.isfinite(v) for v in ev):
        print(f"the plane explains {100 * ev[0]:.1f}% + {100 * ev[1]:.1f}% of the path's movement")
    for p in surface.paths:
        label = sf.optimizer_label(p.name) if surface.method == "race" else "path"
        off = f", {p.off_plane[-1]:.3g} off the plane" if surface.method not in ("exact",) else ""
        print(
            f"{label:<20} loss {p.loss[0]:.4f} -> {p.loss[-1]:.4f} in {int(p.steps[-1])} steps{off}"
            + (" (diverged)" if p.diverged else "")
        )
    print(f"wrote {written}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command: status 0, 2 for bad input (with its message), 1 for an internal error.

    Nothing reaches the terminal as a traceback: an internal error prints one line and
    the path of the log file that holds the traceback (nnviz.logs).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    log_file = logs.configure_logging()
    errors_before = logs.errors_logged()
    try:
        handler = {
            "train": cmd_train,
            "summary": cmd_summary,
            "presets": cmd_presets,
            "datasets": cmd_datasets,
            "surface": cmd_surface,
        }[args.command]
        from .engine.surface import SurfaceError  # numpy only until a surface is computed

        try:
            return handler(args)
        except (CliError, ProjectError, DatasetError, SurfaceError) as exc:
            if logs.errors_logged() > errors_before:  # the engine caught (and logged) its own fault
                print(f"nnviz: {exc} ({_details(log_file)})", file=sys.stderr)
                return EXIT_INTERNAL
            print(f"nnviz: {exc}", file=sys.stderr)
            return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnnviz: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback in the user's face: it goes to the log
        _log.exception("nnviz %s failed", args.command)
        first = (str(exc).splitlines() or [""])[0]
        what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        if len(what) > 200:
            what = what[:199] + "…"
        print(
            f"nnviz: {args.command} failed with an internal error ({what}); {_details(log_file)}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _details(log_file: Path | None) -> str:
    return f"details in {log_file}" if log_file is not None else "no log file could be written for details"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
