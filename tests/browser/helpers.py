"""Helpers shared by the browser tests: import them from here, never from another test module.

Figures are read from the DOM: ``gd`` is the plotly div inside a dcc.Graph and
``gd._fullData`` / ``gd._fullLayout`` what Plotly drew (Plotly 6+ sends typed
arrays, so ``gd.data`` is not read).
"""

from __future__ import annotations

#: milliseconds a browser test waits for the page (Playwright's ``expect`` and ``wait_fig``)
TIMEOUT = 15_000


# ---------------------------------------------------------------- figure helpers (read what Plotly drew)

_GD = "const c = document.getElementById(gid); const gd = c && c.querySelector('.js-plotly-plot');"

# patient ids of the per-patient points: customdata rows [patient id, ...] with a string id
# (mean ± SEM markers carry numbers, fitted-slope segments a plain string label)
_IDS = """
const ids = {};
for (const t of gd._fullData) {
  const cd = t.customdata; if (!cd) continue;
  for (let i = 0; i < cd.length; i++) {
    const row = cd[i];
    if (row && typeof row === 'object' && typeof row[0] === 'string' && row[0]) {  // gaps between patients: ''
      const g = t.legendgroup || '';
      (ids[g] = ids[g] || new Set()).add(row[0]);
    }
  }
}
"""


def wait_fig(page, gid: str, cond: str = "true", arg=None, timeout: int = TIMEOUT):
    """Wait until graph ``gid`` is drawn and the JS expression ``cond`` (with ``gd``, ``arg``) holds."""
    page.wait_for_function(
        f"([gid, arg]) => {{ {_GD} if (!gd || !gd._fullLayout || !gd._fullData) return false; return !!({cond}); }}",
        arg=[gid, arg], timeout=timeout,
    )


def fig_eval(page, gid: str, body: str, arg=None):
    return page.evaluate(f"([gid, arg]) => {{ {_GD} {body} }}", [gid, arg])


def fig_title(page, gid: str) -> str:
    return fig_eval(page, gid, "return gd._fullLayout.title.text || '';")


def wait_title_n(page, gid: str, n: int):
    wait_fig(page, gid, "(gd._fullLayout.title.text || '').includes(arg)", f"(n = {n})")


def patient_ids(page, gid: str, by_group: bool = False):
    """Distinct patient ids in the figure's per-patient traces (by legend group if asked)."""
    out = fig_eval(page, gid, _IDS + "return Object.fromEntries(Object.entries(ids).map(([g, s]) => [g, [...s]]));")
    if by_group:
        return {g: set(v) for g, v in out.items() if g}
    return set().union(*map(set, out.values())) if out else set()
