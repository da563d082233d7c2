"""The optimizers nnviz offers: one table that every part of the program reads.

Project validation, the settings panel, the training session, the optimizer race, its
colours and the CLI all take their list of optimizers from ``OPTIMIZERS``. A new
optimizer is one ``Optimizer`` registered here; the engine builds it by calling the Optax
function it names, so nothing else needs to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: its name in project files, how Optax builds it, and how it is shown."""

    name: str  # the key in project files and on the command line
    title: str  # what menus and legends say
    optax: str  # the optax function that builds it, called with learning_rate=...
    help: str  # one line for tooltips and --help
    race_learning_rate: float  # the step size it takes in the loss-surface optimizer race
    color: tuple[int, int, int]  # its colour in the race
    hyperparams: tuple[str, ...] = ()  # training settings passed on to Optax by name
    fixed: Mapping[str, Any] = field(default_factory=dict)  # further Optax arguments, fixed

    def uses(self, hyperparam: str) -> bool:
        """Whether the training setting ``hyperparam`` (e.g. "momentum") applies to it."""
        return hyperparam in self.hyperparams

    def optax_kwargs(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The Optax arguments besides the learning rate, from a training config's settings."""
        return {**self.fixed, **{h: float(settings[h]) for h in self.hyperparams}}


_TABLE = (
    Optimizer(
        "sgd",
        "SGD",
        "sgd",
        "Plain gradient descent: every step moves against the gradient, scaled by the rate.",
        0.1,
        (90, 90, 90),
    ),
    Optimizer(
        "momentum",
        "SGD + momentum",
        "sgd",
        "Gradient descent that keeps a running velocity, so it rolls through flat stretches.",
        0.02,
        (245, 147, 34),
        hyperparams=("momentum",),
    ),
    Optimizer(
        "nesterov",
        "Nesterov momentum",
        "sgd",
        "Momentum that looks one step ahead before it corrects, so it overshoots less.",
        0.02,
        (214, 39, 40),
        hyperparams=("momentum",),
        fixed=MappingProxyType({"nesterov": True}),
    ),
    Optimizer(
        "adagrad",
        "Adagrad",
        "adagrad",
        "Each weight gets its own rate, shrinking as its gradients add up.",
        0.1,
        (46, 160, 67),
    ),
    Optimizer(
        "rmsprop",
        "RMSProp",
        "rmsprop",
        "Divides each step by a running average of recent gradient sizes.",
        0.005,
        (148, 103, 189),
    ),
    Optimizer(
        "adam",
        "Adam",
        "adam",
        "Momentum plus per-weight step sizes; the usual first choice.",
        0.01,
        (8, 119, 189),
    ),
    Optimizer(
        "adamw",
        "AdamW",
        "adamw",
        "Adam with weight decay kept apart from the gradient: every step also shrinks the weights a little.",
        0.01,
        (23, 190, 207),
        fixed=MappingProxyType({"weight_decay": 1e-2}),
    ),
)

OPTIMIZERS: Mapping[str, Optimizer] = MappingProxyType({o.name: o for o in _TABLE})


def optimizer(name: str) -> Optimizer:
    """The optimizer called ``name``; a KeyError that lists the known ones otherwise."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise KeyError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}") from None
