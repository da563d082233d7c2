"""Data files shipped with nnviz: presets and icons (installed as nnviz.resources)."""
