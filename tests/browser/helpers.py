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


# ---------------------------------------------------------------- overprinted labels

#: ``gd`` of ``gid``: the plotly div itself or the one inside it
_GD_ANY = ("const c = document.getElementById(gid); "
           "const gd = c && (c.classList.contains('js-plotly-plot') ? c : c.querySelector('.js-plotly-plot'));")

#: Pairs of things plotly drew that overprint each other (by more than a pixel): the figure title, axis titles,
#: annotations, each axis' tick labels, the legend and the colour bar's labels, against each other and, for tick
#: and colour-bar labels, among themselves.  Text is compared as drawn (its box turned by its rotation).
CLASHES = """
(gd) => {
  const quad = e => {
    if (e.tagName === 'text') {
      const b = e.getBBox(), m = e.getScreenCTM();
      return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
        .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
    }
    const r = e.getBoundingClientRect();
    return [[r.left, r.top], [r.right, r.top], [r.right, r.bottom], [r.left, r.bottom]];
  };
  const shown = e => { const r = e.getBoundingClientRect();
                       return r.width > 0.5 && r.height > 0.5 && e.textContent.trim() !== ''; };
  const hit = (p, q) => {  // convex quads: apart if an edge's normal separates them
    for (const poly of [p, q]) for (let i = 0; i < 4; i++) {
      const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
      const len = Math.hypot(x2 - x1, y2 - y1) || 1, nx = (y1 - y2) / len, ny = (x2 - x1) / len;
      const a = p.map(([x, y]) => x * nx + y * ny), b = q.map(([x, y]) => x * nx + y * ny);
      if (Math.max(...a) - 1 <= Math.min(...b) || Math.max(...b) - 1 <= Math.min(...a)) return false;
    }
    return true;
  };
  const blocks = [];
  const add = (name, els, self) => {
    const on = [...els].filter(shown);
    if (on.length) blocks.push([name, on.map(quad), on.map(e => e.textContent), self]);
  };
  add('title', gd.querySelectorAll('.gtitle'), false);
  gd.querySelectorAll('.infolayer text').forEach(e => {
    const c = e.getAttribute('class') || '';
    if (/^[xy]\\d*title$/.test(c)) add(c, [e], false);
  });
  gd.querySelectorAll('.annotation').forEach(e => add('annotation', e.querySelectorAll('text'), false));
  gd.querySelectorAll('[class$="axislayer-above"]').forEach(e => add(e.getAttribute('class'),
                                                                    e.querySelectorAll('text'), true));
  const lg = gd.querySelector('.legend');
  if (lg && shown(lg)) blocks.push(['legend', [quad(lg)], ['legend'], false]);
  add('colour bar', gd.querySelectorAll('.colorbar text'), true);
  const out = [];
  for (let i = 0; i < blocks.length; i++) {
    const [n1, q1, t1, self] = blocks[i];
    if (self) for (let a = 0; a < q1.length; a++) for (let b = a + 1; b < q1.length; b++)
      if (hit(q1[a], q1[b])) out.push(`${n1}: '${t1[a]}' x '${t1[b]}'`);
    for (let j = i + 1; j < blocks.length; j++) {
      const [n2, q2, t2] = blocks[j];
      for (let a = 0; a < q1.length; a++) for (let b = 0; b < q2.length; b++)
        if (hit(q1[a], q2[b])) out.push(`${n1} '${t1[a].slice(0, 40)}' x ${n2} '${t2[b].slice(0, 40)}'`);
    }
  }
  return out;
}
"""


def clashes(page, gid: str) -> list[str]:
    """The labels of figure ``gid`` that overprint one another (empty: none), read from the drawn SVG."""
    return page.evaluate(f"([gid]) => {{ {_GD_ANY} return ({CLASHES})(gd); }}", [gid])
