"""``HtmlBlock``: a Dash component that shows a fragment of HTML written by the server, as it is.

A view's tables, notices and disclosures are written as one fragment of HTML by
:func:`formatting.blocks_html` (every text from the data escaped, as in the report).  ``dcc.Markdown`` with
``dangerously_allow_html`` parsed that fragment as JSX on every change and made a React element of each cell.
This component hands the fragment to the browser's own parser (``innerHTML``, 0.1-0.7 ms): a table set through
Dash took 8-19 ms in the page before, 3.5-9 ms now (the safety view has five).  Its script is
``assets/html_block.js`` (served by the app itself, loaded before Dash's renderer), which defines
``window.dashboard_blocks.HtmlBlock``.

Only the server's own HTML belongs here: the browser parses it as markup.  ``blocks_html`` escapes every text;
the Content-Security-Policy (no inline script, no inline event handler) is the second wall.
"""

from __future__ import annotations

from dash.development.base_component import Component, _explicitize_args

#: the browser-side name of the component library (``window.dashboard_blocks`` in assets/html_block.js)
NAMESPACE = "dashboard_blocks"


class HtmlBlock(Component):
    """A ``<div>`` whose content is the HTML fragment ``html``.

    Keyword arguments:
    - html (string): the fragment (written by ``formatting.blocks_html``: every text escaped).
    - id (string; optional)
    - className (string; optional)
    """

    _children_props: list[str] = []
    _base_nodes: list[str] = []
    _namespace = NAMESPACE
    _type = "HtmlBlock"

    @_explicitize_args
    def __init__(self, html=None, id=Component.UNDEFINED, className=Component.UNDEFINED, **kwargs):
        self._prop_names = ["id", "className", "html"]
        self._valid_wildcard_attributes = []
        self.available_properties = ["id", "className", "html"]
        self.available_wildcard_properties = []
        _explicit_args = kwargs.pop("_explicit_args")
        _locals = locals()
        _locals.update(kwargs)
        args = {k: _locals[k] for k in _explicit_args}
        super().__init__(**args)
