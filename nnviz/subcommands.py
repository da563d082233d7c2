"""The headless sub-commands of ``nnviz`` and their one-line help.

The CLI builds its parser from this table, the entry point sends these names to the CLI
instead of opening the window, and the window's own ``--help`` lists them, so a new
command is named once. Plain data: the window imports it without importing the CLI.
"""

SUBCOMMANDS = {
    "train": "train a project or preset and print its metrics",
    "summary": "print every node, its output shape and parameter count",
    "presets": "list the shipped example projects",
    "datasets": "list the datasets a project can use (for --dataset)",
    "surface": "train, then draw the loss surface and the path training took on it",
}
