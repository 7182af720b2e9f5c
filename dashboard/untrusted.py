"""Dataset text is untrusted: it may hold markup for plotly or formulas for a spreadsheet.

- :func:`plain_text`: text for a plotly figure (tick labels, hover text, annotations).  plotly renders a
  subset of HTML in text (``<a href>``, ``<b>``, ``<br>``, ``<span style>``...): an adverse-event term
  ``<a href="https://evil.example">details</a>`` would be a live link in the heatmap and in the report.
  ``&``, ``<`` and ``>`` become entities, which plotly shows as the characters themselves.
- :func:`csv_cell`: a CSV cell that a spreadsheet will not run.  Text beginning with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is a formula to Excel and LibreOffice (``=HYPERLINK(...)``,
  ``+cmd|' /C calc'!A0``, ``@SUM(...)``): it gets a leading apostrophe, as OWASP advises.  Numbers, and
  text that is a plain number (``-1.5``), are left as they are.

Pure: no Dash, no Flask.
"""

from __future__ import annotations

import math
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def plain_text(value):
    """``value`` as text that plotly displays literally (no tags, no links); None and NaN stay as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    s = value if isinstance(value, str) else str(value)
    if "&" not in s and "<" not in s and ">" not in s:
        return s
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_texts(values) -> list:
    """:func:`plain_text` of each value (a list, a numpy array or a pandas Series), as a list."""
    return [plain_text(v) for v in values]


def csv_cell(value):
    """``value`` for a CSV cell: text that a spreadsheet would take for a formula is prefixed with ``'``."""
    if not isinstance(value, str) or not value or not value.startswith(FORMULA_START):
        return value
    if _NUMBER.match(value):
        return value
    return "'" + value


def csv_frame(frame):
    """A copy of a pandas DataFrame with :func:`csv_cell` applied to its text columns."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        elif not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
            continue
        out[col] = s.map(csv_cell, na_action="ignore")
    return out
