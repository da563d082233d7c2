"""What the panels draw with: colours, the light and dark themes, colour scales and steady
axis ranges, mosaics of many small images, and the styling of plots, axes and labels.

Nothing here knows about training or snapshots; the panels (one package up) do.
"""
