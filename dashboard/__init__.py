"""ALS cell-therapy trial results dashboard.

Importing the package does no I/O; :func:`dashboard.app.create_app` loads the
dataset.
"""

__version__ = "0.1.0"
