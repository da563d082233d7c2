"""The headless command line: train a project or preset, print a Keras-style summary.

Every expected failure (invalid network, bad file, missing data) prints a message and
exits with status 2; nothing here shows a traceback to the user.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from .core.datasets import IMAGE_DATASETS, TOY_DATASETS, DatasetError, DatasetSpec, load_dataset
from .core.graph import analyze
from .core.layers import Context, shape_text
from .core.presets import load_preset, preset_names
from .core.project import Project, ProjectError

EXIT_USAGE = 2

IMAGE_CLASSES = 10


class CliError(Exception):
    """A user-facing failure: printed as is, exit status 2."""


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", nargs="?", help="project file (.json)")
    p.add_argument("--preset", metavar="NAME", help="use a shipped example instead of a file")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding mnist/ and fashion-mnist/ (default: $NNVIZ_DATA_DIR or the cache)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnviz", description="Build neural networks and watch them learn. "
        "Without a command, opens the desktop app.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a project or preset and print its metrics")
    _add_source(t)
    t.add_argument("--epochs", type=int, help="override the project's number of epochs")
    t.add_argument("--seed", type=int, help="override the project's random seed")
    t.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    t.add_argument("--save-weights", metavar="FILE", help="write the trained weights to FILE")
    t.add_argument("--no-download", action="store_true", help="fail instead of downloading datasets")

    s = sub.add_parser("summary", help="print every node, its output shape and parameter count")
    _add_source(s)

    sub.add_parser("presets", help="list the shipped example projects")
    return parser


def _load_project(args) -> Project:
    if args.preset and args.project:
        raise CliError("give either a project file or --preset, not both")
    if args.preset:
        return load_preset(args.preset)
    if not args.project:
        raise CliError("give a project file or --preset NAME (see `nnviz presets`)")
    return Project.load(args.project)


def dataset_context(spec: DatasetSpec, data_dir: str | None) -> Context:
    """The input shape and class count of a dataset, without loading the big ones."""
    if spec.name in TOY_DATASETS:
        return Context((2,), 2, spec.name)
    if spec.name in IMAGE_DATASETS:
        return Context((28, 28, 1), IMAGE_CLASSES, "MNIST" if spec.name == "mnist" else "Fashion-MNIST")
    ds = load_dataset(spec, data_dir, download=False)
    return Context(tuple(ds.input_shape), ds.n_classes, ds.name)


def cmd_summary(args) -> int:
    project = _load_project(args)
    ctx = dataset_context(project.dataset, args.data_dir)
    net = project.network
    analysis = analyze(net, ctx)
    order = analysis.order or list(net.nodes)
    rows = [(net.nodes[n].name, net.nodes[n].type, shape_text(analysis.shapes.get(n)),
             f"{analysis.param_counts.get(n, 0):,}") for n in order]
    head = ("Node", "Type", "Output shape", "Params")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("{:<%d}" % w for w in widths[:3]) + "  {:>%d}" % widths[3]
    print(f'Network "{project.name}" on {ctx.dataset_name} (input {shape_text(ctx.input_shape)}, '
          f"{ctx.n_classes} classes)")
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

    def __init__(self, stream, total_epochs: int) -> None:
        self.stream, self.total = stream, total_epochs
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
                self._draw(f"Epoch {msg.epoch}/{self.total} [{'#' * filled}{'.' * (30 - filled)}] "
                           f"loss {msg.train_loss:.4f}  acc {msg.train_accuracy:.4f}  "
                           f"{msg.samples_per_second / 1000:.1f}k samples/s")
        elif isinstance(msg, EpochEnd):
            val = "" if math.isnan(msg.val_loss) else f"  val_loss {msg.val_loss:.4f}  val_acc {msg.val_accuracy:.4f}"
            self._draw(f"Epoch {msg.epoch}/{self.total} [{'#' * 30}] {msg.seconds:.1f}s  "
                       f"loss {msg.train_loss:.4f}  acc {msg.train_accuracy:.4f}{val}  "
                       f"test_loss {msg.test_loss:.4f}  test_acc {msg.test_accuracy:.4f}", final=True)

    def _draw(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()


def cmd_train(args) -> int:
    from .engine.messages import Failed
    from .engine.session import TrainingSession

    project = _load_project(args)
    if args.seed is not None:
        project = project.with_training(seed=args.seed)
    if args.epochs is not None:
        if args.epochs < 1:
            raise CliError("--epochs must be at least 1")
        project = project.with_training(epochs=args.epochs, max_steps=0)
    problems = project.training.validate()
    if problems:
        raise CliError("the training settings are not valid: " + "; ".join(problems))
    ctx = dataset_context(project.dataset, args.data_dir)
    analysis = analyze(project.network, ctx)
    if not analysis.ok:
        raise CliError("the network is not valid:\n" + "\n".join(f"  - {m}" for m in analysis.messages(project.network)))

    if args.save_weights:  # find out now, not after a long training run
        target = Path(args.save_weights).resolve().parent
        if not target.is_dir() or not os.access(target, os.W_OK):
            raise CliError(f"cannot write weights to {args.save_weights}: {target} is not a writable folder")
    steps_hint = project.training.epochs
    bar = None if args.json else _ProgressBar(sys.stderr, steps_hint)
    session = TrainingSession(project, data_dir=args.data_dir, download=not args.no_download,
                              on_message=bar, snapshot_interval=math.inf)
    result = session.run()
    if isinstance(result, Failed):
        raise CliError(result.reason)
    if args.save_weights:
        session.save_weights(args.save_weights)
    m = dict(result.metrics)
    if args.json:
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}
        out["project"] = project.name
        out["stopped"] = result.reason != "completed"
        out["history"] = [
            {"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
             "test_loss": e.test_loss, "test_accuracy": e.test_accuracy, "seconds": e.seconds}
            for e in session.history]
        print(json.dumps(out))
        return 0
    rows = [("train", m["train_loss"], m["train_accuracy"])]
    if not math.isnan(m["val_loss"]):
        rows.append(("validation", m["val_loss"], m["val_accuracy"]))
    rows.append(("test", m["test_loss"], m["test_accuracy"]))
    print(f"\n{project.name}: {m['epochs']} epochs, {m['steps']} steps, {m['params']:,} parameters, "
          f"{m['seconds']:.1f} s")
    print(f"{'split':<12}{'loss':>10}{'accuracy':>10}")
    for name, loss, acc in rows:
        print(f"{name:<12}{loss:>10.4f}{acc:>10.4f}")
    return 0


def cmd_presets(args) -> int:
    for name in preset_names():
        p = load_preset(name)
        print(f"{name:<24} {p.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = {"train": cmd_train, "summary": cmd_summary, "presets": cmd_presets}[args.command]
    try:
        return handler(args)
    except (CliError, ProjectError, DatasetError) as exc:
        print(f"nnviz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnnviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
