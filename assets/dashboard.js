/* Figure export at slide size, and arrow-key navigation in presentation mode.
   Plain DOM code, loaded locally from assets/ (no network). */
(function () {
  "use strict";

  function plotDiv(id) {
    var c = document.getElementById(id);
    if (!c) return null;
    return c.classList.contains("js-plotly-plot") ? c : c.querySelector(".js-plotly-plot");
  }

  // ---------------------------------------------------------------- slide export
  // A figure as a 1600x900 (16:9) slide with fonts for a projector; the title (n, SIMULATED note) is part of
  // the figure. The PNG/SVG buttons (data-export-figure="<graph id>" data-export-format="png|svg") and the
  // plot toolbar's camera both come here, so the two give the same image.
  var SLIDE = { font: 22, title: 30, reservePad: 10 };
  // The slide's size, and above how many categories on its x axis (a waterfall's patients) their labels are
  // hidden (too close for a room to read): declared once in dashboard/figures.py (SLIDE,
  // SLIDE_MAX_CATEGORIES), handed over as data attributes of the app's root.
  function slideSize() {
    var root = document.getElementById("app-root");
    var d = (root && root.dataset) || {};
    return { width: Number(d.slideWidth), height: Number(d.slideHeight), maxCategories: Number(d.slideMaxCategories) };
  }

  function axisKeys(lay) {
    return Object.keys(lay).filter(function (k) { return /^[xy]axis\d*$/.test(k); });
  }

  function categoriesOf(gd, key) {
    var full = gd._fullLayout && gd._fullLayout[key];
    return full && full._categories ? full._categories.length : 0;
  }

  function barsOn(gd, key) {  // a bar trace drawn on this x axis (a waterfall)
    var ref = key.replace("axis", "");
    return (gd._fullData || []).some(function (t) { return t.type === "bar" && (t.xaxis || "x") === ref; });
  }

  // The layout of the slide: projector fonts (explicit tick fonts grow with them), and an x axis of too many
  // categories without labels (the axis title says how many).
  function slideLayout(gd) {
    var slide = slideSize();
    var lay = Object.assign({}, gd.layout);
    var base = (gd._fullLayout && gd._fullLayout.font && gd._fullLayout.font.size) || 13;
    var ratio = SLIDE.font / base;
    lay.width = slide.width;
    lay.height = slide.height;
    lay.font = Object.assign({}, gd.layout.font || {}, { size: SLIDE.font });
    var title = Object.assign({}, gd.layout.title || {});
    title.font = Object.assign({}, title.font || {}, { size: SLIDE.title });
    lay.title = title;
    lay.margin = { l: 110, r: 40, t: 130, b: 170 };
    var meta = gd.layout.meta || {};
    axisKeys(lay).forEach(function (k) {
      var ax = lay[k] = Object.assign({}, lay[k]);
      if (ax.tickfont && ax.tickfont.size) {
        var size = Math.max(SLIDE.font * 0.8, Math.round(ax.tickfont.size * ratio));
        ax.tickfont = Object.assign({}, ax.tickfont, { size: size });
      }
      if (meta.title_reserve === k && ax.title) {  // the room kept for the figure title (figures._reserve_title)
        ax.title = Object.assign({}, ax.title, { font: { size: SLIDE.title + SLIDE.reservePad } });
        lay.margin.t = 10;
      }
      var n = categoriesOf(gd, k);
      if (k.charAt(0) === "x" && n > slide.maxCategories && ax.showticklabels !== false && barsOn(gd, k)) {
        ax.showticklabels = false;
        var text = (ax.title && ax.title.text) || "";
        ax.title = Object.assign({}, ax.title || {}, { text: text + (text ? ": " : "") + n + ", too many to label" });
      }
    });
    var legend = gd.layout.legend;
    if (legend && legend.orientation === "h" && legend.y < 0 && (!legend.yref || legend.yref === "paper")) {
      // under the axis title, as figures._legend_below places it (LEGEND_GAP fonts under the plot)
      var plot = lay.height - lay.margin.t - lay.margin.b;
      lay.legend = Object.assign({}, legend, { y: -Math.min(0.6, 4.4 * SLIDE.font / plot) });
    }
    return lay;
  }

  // Rows of a category y axis labelled one by one (a heatmap's patients): the font that fits the rows'
  // height where the current one does not, else null.
  function rowLabelFont(gd) {
    var full = gd._fullLayout;
    var ya = full && full.yaxis;
    if (!ya || ya.type !== "category" || !ya.showticklabels || ya.dtick !== 1 || !ya._categories) return null;
    var rows = ya._categories.length;
    if (!rows) return null;
    var room = Math.max(8, Math.floor(ya._length / rows / 1.3));
    return ya.tickfont.size > room ? room : null;
  }

  // The slide drawn off screen (so that what plotly measured, e.g. a heatmap's row height, can be fitted).
  function renderSlide(gd) {
    var size = slideSize();
    var div = document.createElement("div");
    div.setAttribute("aria-hidden", "true");
    div.style.cssText = "position:fixed;left:-20000px;top:0;width:" + size.width + "px;height:" + size.height + "px";
    document.body.appendChild(div);
    return window.Plotly.newPlot(div, gd.data, slideLayout(gd), { staticPlot: true })
      .then(function () {
        var font = rowLabelFont(div);
        return font && window.Plotly.relayout(div, { "yaxis.tickfont.size": font });
      })
      .then(function () { return div; });
  }

  function downloadSlide(gd, fmt, filename) {
    return renderSlide(gd).then(function (div) {
      var size = slideSize();
      return window.Plotly.downloadImage(div, { format: fmt, width: size.width, height: size.height,
                                                filename: filename })
        .finally(function () { window.Plotly.purge(div); div.remove(); });
    });
  }
  window.dashboardExport = { layout: slideLayout, render: renderSlide, download: downloadSlide };

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-export-figure]") : null;
    if (!b) return;
    var id = b.getAttribute("data-export-figure");
    var gd = plotDiv(id);
    if (!gd || !window.Plotly) return;
    downloadSlide(gd, b.getAttribute("data-export-format") || "png", id);
  });

  // The plot toolbar's camera ("Download plot as a PNG"): the same slide as the PNG button, not plotly's
  // screen-sized picture. Caught before plotly's own handler (capture phase), for mouse and keyboard alike.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest(".modebar-btn") : null;
    if (!b || !/^Download plot/.test(b.getAttribute("data-title") || "")) return;
    var gd = b.closest(".js-plotly-plot");
    if (!gd || !window.Plotly) return;
    ev.preventDefault();
    ev.stopPropagation();
    var opts = (gd._context && gd._context.toImageButtonOptions) || {};
    var holder = gd.id ? gd : gd.parentElement;
    downloadSlide(gd, opts.format || "png", opts.filename || (holder && holder.id) || "figure");
  }, true);

  // A figure drawn at a fixed height does not follow its container's width by itself (dcc.Graph is not
  // responsive then): after presentation mode hides the filter panel (the figure may have come just before),
  // or the window is resized, redraw each figure whose width is not its container's.
  // Plotly promises may never settle when a figure is replaced while drawn: a change in flight is known by
  // the time it was asked for, and the check runs again a little later.
  var asked = new WeakMap();  // plot div -> when a relayout was last asked for it
  var SETTLE_MS = 250;
  function busy(gd) {
    var t = asked.get(gd);
    if (t !== undefined && window.performance.now() - t < SETTLE_MS) {
      window.setTimeout(schedule, SETTLE_MS);
      return true;
    }
    return false;
  }
  // dcc.Graph answers a plotly_relayout event by redrawing its figure as it came from the server, which
  // would undo a size set here (and set it off again): these relayouts are not announced to it.
  var OWN_KEYS = ["height", "width", "autosize", "legend.y", "yaxis.tickfont.size"];
  function quiet(gd) {
    if (typeof gd.emit !== "function" || gd.emit === gd.__quietEmit) return;
    var emit = gd.emit;
    gd.__quietEmit = gd.emit = function (name, data) {
      if (name === "plotly_relayout" && data && Object.keys(data).length &&
          Object.keys(data).every(function (k) { return OWN_KEYS.indexOf(k) >= 0; })) return undefined;
      return emit.apply(this, arguments);
    };
  }
  function relayout(gd, update) {
    quiet(gd);
    asked.set(gd, window.performance.now());
    window.setTimeout(schedule, SETTLE_MS);  // and check again once it is drawn
    return window.Plotly.relayout(gd, update).catch(function () { /* replaced meanwhile: checked anew */ });
  }

  //: a width this close is left alone: a page scroll bar coming and going would redraw every figure (and move
  //: what is under the pointer) for a difference too small to see
  var STALE_PX = 24;
  function resizeStale() {
    if (!window.Plotly) return;
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var i = 0; i < plots.length; i++) {
      var gd = plots[i];
      var width = gd.clientWidth;
      if (!gd._fullLayout || !gd.layout || !width || Math.abs(gd._fullLayout.width - width) <= STALE_PX) continue;
      if (busy(gd)) continue;
      // the container's width, given: Plots.resize would also reset the height to the container's
      // (undoing presentFit), and plotly's autosize may return to the width it first had
      relayout(gd, { width: width });
    }
  }

  // ---------------------------------------------------------------- presentation mode
  // The view's first figure (its main one) fills the window below the caption and the tab bar, legend
  // included, so that nothing of it is below the fold; a heatmap only shrinks to fit (its rows keep their
  // height where they can), and its row labels take a font that fits the rows.
  var ownHeight = new WeakMap();  // a figure's layout (replaced by each new figure) -> the height it came with
  function presentFit() {
    var root = document.getElementById("app-root");
    if (!root || !root.classList.contains("present") || !window.Plotly) return;
    var fig = document.querySelector(".tab-content > .tab-body > figure.graph");
    var gd = fig && fig.querySelector(".js-plotly-plot");
    if (!gd || !gd._fullLayout || !gd.layout || !gd.querySelector(".main-svg") || busy(gd)) return;
    if (!ownHeight.has(gd.layout)) ownHeight.set(gd.layout, gd.layout.height || gd._fullLayout.height);
    var box = gd.getBoundingClientRect();
    var under = fig.getBoundingClientRect().bottom - box.bottom;
    var room = Math.floor(window.innerHeight - (box.top + window.scrollY) - under - 8);
    var heatmap = gd.layout.meta && gd.layout.meta.heatmap;
    var want = Math.max(260, heatmap ? Math.min(ownHeight.get(gd.layout), room) : room);
    var full = gd._fullLayout;
    if (Math.abs(full.height - want) <= 2 && Math.abs(full.width - gd.clientWidth) <= 2) {
      var font = rowLabelFont(gd);
      if (font) relayout(gd, { "yaxis.tickfont.size": font });
      return;
    }
    // the width too: given a height alone, plotly would freeze the width at its current value
    var update = { height: want, width: gd.clientWidth };
    var legend = gd.layout.legend, plot = full._size.h;
    if (legend && legend.orientation === "h" && legend.y < 0 && (!legend.yref || legend.yref === "paper")) {
      // a legend under the plot keeps its distance in pixels (under the axis title), not its share of the height
      var grown = plot + want - full.height;
      if (grown > 50) update["legend.y"] = legend.y * plot / grown;
    }
    relayout(gd, update);
  }

  // Presentation mode: left/right arrow keys step through the views (not while typing in a control).
  document.addEventListener("keydown", function (ev) {
    var root = document.getElementById("app-root");
    if (!root || !root.classList.contains("present")) return;
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    var t = ev.target;
    if (t && t.closest && t.closest("input, textarea, select, [role=combobox], [role=slider], .dash-dropdown")) return;
    var tabs = Array.prototype.slice.call(document.querySelectorAll("#tabs .tab"));
    var i = tabs.findIndex(function (x) { return x.classList.contains("tab--selected"); });
    if (i < 0) return;
    var j = ev.key === "ArrowRight" ? Math.min(tabs.length - 1, i + 1) : Math.max(0, i - 1);
    if (j !== i) {
      tabs[j].click();
      ev.preventDefault();
    }
  });

  // dcc.Tabs renders its tabs as plain divs: give them the tab role, a place in the tab order
  // and Enter/Space activation, so the views are reachable with the keyboard.
  function enhanceTabs() {
    var list = document.getElementById("tabs");
    if (!list) return;
    // only what differs is set: setting an attribute to its own value is still a mutation, and the observer
    // below would run this again on the next frame, and so on for ever
    if (list.getAttribute("role") !== "tablist") list.setAttribute("role", "tablist");
    if (list.getAttribute("aria-label") !== "Views") list.setAttribute("aria-label", "Views");
    var tabs = list.querySelectorAll(".tab");
    for (var i = 0; i < tabs.length; i++) {
      var t = tabs[i];
      var selected = t.classList.contains("tab--selected") ? "true" : "false";
      if (t.getAttribute("role") !== "tab") t.setAttribute("role", "tab");
      if (t.getAttribute("tabindex") !== "0") t.setAttribute("tabindex", "0");
      if (t.getAttribute("aria-selected") !== selected) t.setAttribute("aria-selected", selected);
    }
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if ((ev.key === "Enter" || ev.key === " ") && t && t.classList && t.classList.contains("tab")) {
      t.click();
      ev.preventDefault();
    }
  });

  // Dash 4 renders dcc.RadioItems / dcc.Checklist as role=listbox with role=option labels around the
  // native radio/checkbox inputs: interactive controls nested in options, and a listbox without a name
  // (axe: nested-interactive, aria-input-field-name). The native inputs, named by their labels and
  // grouped by the surrounding fieldset/legend, already say everything: drop the listbox roles.
  function nativeOptionLists() {
    var lists = document.querySelectorAll(".dash-options-list.dash-radioitems, .dash-options-list.dash-checklist");
    for (var i = 0; i < lists.length; i++) {
      var list = lists[i];
      if (list.closest(".dash-dropdown-content")) continue;
      if (list.hasAttribute("role")) list.removeAttribute("role");
      var opts = list.querySelectorAll(".dash-options-list-option");
      for (var k = 0; k < opts.length; k++) {
        if (opts[k].hasAttribute("role")) opts[k].removeAttribute("role");
        if (opts[k].hasAttribute("aria-selected")) opts[k].removeAttribute("aria-selected");
      }
    }
  }

  // Dash 4's dcc.Dropdown puts its tab stop on an aria-hidden input that forwards focus to the
  // (labelled) trigger button (axe: aria-hidden-focus). Put the tab stop on the button itself.
  function dropdownTabStops() {
    var targets = document.querySelectorAll(".dash-dropdown-wrapper > .dash-dropdown-focus-target");
    for (var i = 0; i < targets.length; i++) {
      var button = targets[i].nextElementSibling;
      if (!button || button.tagName !== "BUTTON" || button.disabled) continue;
      if (targets[i].getAttribute("tabindex") !== "-1") targets[i].setAttribute("tabindex", "-1");
      if (button.getAttribute("tabindex") !== "0") button.setAttribute("tabindex", "0");
    }
  }

  // A section whose table is wider than the section scrolls sideways: make it reachable with the
  // keyboard (axe: scrollable-region-focusable), named by its heading; only while it overflows.
  function scrollableSections() {
    var sections = document.querySelectorAll(".section");
    for (var i = 0; i < sections.length; i++) {
      var s = sections[i];
      var scrolls = s.scrollWidth > s.clientWidth + 1;
      if (scrolls && s.getAttribute("tabindex") !== "0") {
        var h = s.querySelector("h3");
        s.setAttribute("tabindex", "0");
        s.setAttribute("role", "region");
        if (h) s.setAttribute("aria-label", h.textContent + " (scrolls sideways)");
      } else if (!scrolls && s.hasAttribute("tabindex")) {
        s.removeAttribute("tabindex");
        s.removeAttribute("role");
        s.removeAttribute("aria-label");
      }
    }
  }

  function enhance() {
    enhanceTabs();
    nativeOptionLists();
    dropdownTabStops();
    scrollableSections();
    resizeStale();
    presentFit();
  }
  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; enhance(); });
  }
  new MutationObserver(schedule).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["class", "role", "aria-selected", "tabindex"],
  });
  window.addEventListener("resize", schedule);
})();
