"""``nnviz`` / ``python -m nnviz``: a sub-command runs headless, otherwise the desktop app opens."""

from __future__ import annotations

import sys

COMMANDS = {"train", "summary", "presets", "-h", "--help"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        from .cli import main as cli_main

        return cli_main(argv)
    try:
        from .qt.app import main as app_main
    except ImportError:
        from .cli import main as cli_main

        if argv:  # unknown words get argparse's usage error (exit 2), not a silent help
            return cli_main(argv)
        print("nnviz: the desktop app is not available in this build; the commands below work.",
              file=sys.stderr)
        return cli_main(["--help"])
    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
