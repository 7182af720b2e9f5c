/* Figure export at slide size, and arrow-key navigation in presentation mode.
   Plain DOM code, loaded locally from assets/ (no network). */
(function () {
  "use strict";

  function plotDiv(id) {
    var c = document.getElementById(id);
    if (!c) return null;
    return c.classList.contains("js-plotly-plot") ? c : c.querySelector(".js-plotly-plot");
  }

  // Buttons with data-export-figure="<graph id>" data-export-format="png|svg":
  // a 1600x900 (16:9) image with fonts for a projector; the title (n, SIMULATED note) is part of the figure.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-export-figure]") : null;
    if (!b) return;
    var id = b.getAttribute("data-export-figure");
    var gd = plotDiv(id);
    if (!gd || !window.Plotly) return;
    var fmt = b.getAttribute("data-export-format") || "png";
    var lay = Object.assign({}, gd.layout);
    lay.width = 1600;
    lay.height = 900;
    lay.font = Object.assign({}, gd.layout.font || {}, { size: 22 });
    var title = Object.assign({}, gd.layout.title || {});
    title.font = Object.assign({}, title.font || {}, { size: 30 });
    lay.title = title;
    lay.margin = { l: 110, r: 40, t: 130, b: 170 };
    window.Plotly.downloadImage({ data: gd.data, layout: lay }, { format: fmt, width: 1600, height: 900, filename: id });
  });

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
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", "Views");
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
