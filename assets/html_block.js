/* HtmlBlock (dashboard/html_block.py): a <div> whose content is an HTML fragment written by the server
   (formatting.blocks_html: every text from the data escaped).  The browser's own parser (innerHTML) draws it:
   a table set through Dash took 8-19 ms with dcc.Markdown, which parsed the fragment as JSX on every change, and
   takes 3.5-9 ms with this (the rest is Dash's own update; innerHTML itself 0.1-0.7 ms).
   A disclosure (<details>) the reader opened stays open when the fragment changes (a filter change): the new
   fragment's disclosures of the same data-key (formatting.Details.key: a body system, not its counts) are
   opened again.  Dash mounts a new HtmlBlock for a slot's new content, so the keys a block leaves open are
   kept by its slot's id (its parent element) for the block mounted there next.
   Loaded by Dash before its renderer (assets come before it), which finds it as window.dashboard_blocks. */
(function () {
  "use strict";
  var React = window.React;
  /* slot id -> the data-keys of the disclosures left open by the block that was there */
  var leftOpen = {};

  function openKeys(el) {
    var open = {};
    Array.prototype.forEach.call(el.querySelectorAll("details[open]"), function (d) { open[d.dataset.key] = true; });
    return open;
  }

  function fill(el, html, open) {
    el.innerHTML = html || "";
    if (!open) {
      return;
    }
    Array.prototype.forEach.call(el.querySelectorAll("details"), function (d) {
      if (Object.prototype.hasOwnProperty.call(open, d.dataset.key)) { d.open = true; }
    });
  }

  function HtmlBlock(props) {
    React.Component.call(this, props);
    this.host = React.createRef();
  }
  HtmlBlock.prototype = Object.create(React.Component.prototype);
  HtmlBlock.prototype.constructor = HtmlBlock;

  HtmlBlock.prototype.componentDidMount = function () {
    var el = this.host.current;
    var slot = el.parentElement && el.parentElement.id;
    fill(el, this.props.html, slot ? leftOpen[slot] : null);
    if (slot) { delete leftOpen[slot]; }
  };
  HtmlBlock.prototype.componentWillUnmount = function () {
    var el = this.host.current;
    var slot = el && el.parentElement && el.parentElement.id;
    if (slot) { leftOpen[slot] = openKeys(el); }
  };
  HtmlBlock.prototype.shouldComponentUpdate = function (next) {
    return next.html !== this.props.html || next.className !== this.props.className || next.id !== this.props.id;
  };
  HtmlBlock.prototype.componentDidUpdate = function (prev) {
    if (prev.html === this.props.html) {
      return;
    }
    var el = this.host.current;
    fill(el, this.props.html, openKeys(el));
  };
  HtmlBlock.prototype.render = function () {
    return React.createElement("div", {id: this.props.id, className: this.props.className, ref: this.host});
  };

  window.dashboard_blocks = {HtmlBlock: HtmlBlock};
})();
