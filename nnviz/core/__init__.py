"""Plain Python + numpy: layer types, network graphs, shapes, project files, datasets."""
