"""Static images (PNG and SVG) of every figure of a cohort, for slide decks.

Uses kaleido 1.x, which drives the system's Chromium (Debian: ``apt-get install
chromium``); it never downloads a browser.  Without Chromium the export fails
with :class:`ImageExportError` and a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import figures, views
from .cohorts import Cohort
from .data import Dataset

SLIDE = figures.SLIDE


class ImageExportError(RuntimeError):
    pass


def _find_chromium() -> str | None:
    for cand in (os.environ.get("BROWSER_PATH"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome"), "/usr/bin/chromium"):
        if cand and Path(cand).exists():
            return cand
    return None


def figure_set(ds: Dataset, cohort: Cohort, confidentiality: str | None = None) -> dict[str, object]:
    """Every exported figure of the views (the registry's figure slots with an ``export`` stem), by file stem,
    built as the dashboard builds them (projector-sized fonts), the views offered for the dataset only, each
    carrying the confidentiality line (:func:`dashboard.reports.confidentiality_line`) after its title."""
    from .reports import confidentiality_line

    line = confidentiality_line(confidentiality)
    out = {}
    for view in views.offered(ds):
        stems = [s for s in view.figures if s.export]
        if not stems:
            continue
        result = views.run(view.key, ds, cohort)
        for slot in stems:
            big = figures.for_slide(getattr(result, slot.attr), **SLIDE)
            figures.add_confidentiality(big, line)
            out[slot.export] = big
    return out


def write_figures(ds: Dataset, cohort: Cohort, out_dir: Path, confidentiality: str | None = None) -> list[Path]:
    """Write each figure as NAME.png and NAME.svg into ``out_dir``; return the paths."""
    browser = _find_chromium()
    if browser is None:
        raise ImageExportError("static images need Chromium, and none was found: install it "
                               "(Debian: apt-get install chromium) or set BROWSER_PATH to a Chrome/Chromium binary")
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        import plotly.io as pio
    except ImportError as exc:  # pragma: no cover - plotly is a core dependency
        raise ImageExportError(str(exc)) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = figure_set(ds, cohort, confidentiality)
    paths, objs = [], []
    for name, fig in figs.items():
        for ext in ("png", "svg"):
            paths.append(out_dir / f"{name}.{ext}")
            objs.append(fig)
    try:
        pio.write_images(objs, paths, **SLIDE)
    except Exception as exc:  # kaleido/choreographer raise their own types
        raise ImageExportError(f"image export failed ({type(exc).__name__}: {exc}); "
                               f"is Chromium at {browser} working?") from exc
    return paths
