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
})();
