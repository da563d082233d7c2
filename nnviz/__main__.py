"""``nnviz`` / ``python -m nnviz``: a sub-command runs headless, otherwise the desktop app opens."""

from __future__ import annotations

import sys

from .subcommands import SUBCOMMANDS

COMMANDS = {*SUBCOMMANDS, "-h", "--help"}  # what goes to the CLI instead of the window


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # a frozen app must let the engine process it spawns start
        import multiprocessing

        multiprocessing.freeze_support()
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        from .cli import main as cli_main

        return cli_main(argv)
    from .qt.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
