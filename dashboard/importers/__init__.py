"""Import ADaM datasets and PRO-ACT-style files as a trial dataset, and export to them.

A dataset directory may hold, instead of our four CSV files (``native``):

* ``adam``: ADaM datasets as CSV or SAS transport (``.xpt``, read with
  :func:`pandas.read_sas`): ``adsl`` (subject level), ``adae`` (adverse
  events) and one or more BDS datasets of outcomes (any other dataset with
  a ``PARAMCD`` variable);
* ``proact``: the PRO-ACT forms as released (``DEMOGRAPHICS``, ``ALSHISTORY``,
  ``ALSFRS``, ``FVC``, ``MUSCLESTRENGTH``, ``ADVERSEEVENTS``, ``DEATHDATA``,
  ``TREATMENT``, ``RILUZOLE``; names in any case, with or without a ``PROACT_``
  or ``F_PROACT_`` prefix, or the 2016 all-forms names such as ``Fvc.csv``);
  without nominal visits their days are binned to scheduled months
  (:func:`~.rules.visit_bin`).

:func:`load` is the entry point that loads a directory in any of the three
formats (:func:`detect_format` tells which); :mod:`dashboard.data` knows
only our own format and never imports this package.

The modules, each depending only on those above it:

* :mod:`.mapping` -- :data:`MAPPING`, the one table of how their variables
  become our columns, per registered format (:data:`FORMATS`); the readers
  take their variable names from it, ``data/README.md`` shows it
  (:func:`mapping_markdown`; a test keeps the two equal);
* :mod:`.rules` -- the value rules (the day rule, study days, code lists);
* :mod:`.sources` -- their files as strings (CSV, SAS transport and its
  pandas quirks) and format detection;
* :mod:`.build` -- records that remember where each cell came from, and the
  machinery both importers share;
* :mod:`.adam`, :mod:`.proact` -- the two importers;
* :mod:`.loading` -- validation of the imported tables and :func:`load`;
* :mod:`.export` -- :func:`export_adam`, :func:`export_proact`, :func:`convert`.

An import builds our four tables as strings, then
:func:`dashboard.data.validate_tables` runs the same checks as on our own
files; every problem names *their* file, row (line number in a CSV, header
= 1; record number in an XPT, first record = 1) and variable.

No Dash import, no I/O at import time.  Writing SAS transport files
(:func:`export_adam` with ``xpt=True``) needs the optional ``pyreadstat``
package (a test-only dependency); reading them needs only pandas.
"""

from __future__ import annotations

from .adam import read_adam
from .build import Imported
from .export import EXPORT_BDS, ExportError, convert, export_adam, export_proact
from .loading import (
    READERS,
    detect_format,
    format_label,
    import_adam,
    import_proact,
    load,
    load_imported,
    read_import,
)
from .mapping import (
    ADAM,
    FORMATS,
    IMPORT_FORMATS,
    MAPPING,
    NATIVE,
    PROACT,
    FormatInfo,
    MapRow,
    mapping_markdown,
)
from .proact import read_proact
from .rules import DAYS_PER_MONTH, VISIT_WINDOW_DAYS, day_to_month, month_to_day, visit_bin
from .sources import PROACT_FILES, PROACT_OUTCOME_FILES, PROACT_REQUIRED

__all__ = [
    "ADAM", "DAYS_PER_MONTH", "EXPORT_BDS", "FORMATS", "IMPORT_FORMATS", "MAPPING", "NATIVE", "PROACT",
    "PROACT_FILES", "PROACT_OUTCOME_FILES", "PROACT_REQUIRED", "READERS",
    "ExportError", "FormatInfo", "Imported", "MapRow",
    "convert", "day_to_month", "detect_format", "format_label", "export_adam", "export_proact", "import_adam",
    "import_proact",
    "load", "load_imported", "mapping_markdown", "month_to_day", "read_adam", "read_import", "read_proact",
    "VISIT_WINDOW_DAYS", "visit_bin",
]
