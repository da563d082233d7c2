"""nnviz: build a neural network by drag and drop and watch it learn."""

__version__ = "0.1.0"
