"""ALS cell-therapy trial results dashboard.

Importing the package does no I/O; :func:`dashboard.server.create_app` (the Dash
app factory) loads the dataset.
"""

__version__ = "0.1.0"
