/* Clientside callbacks (dashboard/callbacks.py): the presentation caption, and the signal that a view's
   figures are drawn. */
(function () {
  "use strict";
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.dashboard = Object.assign({}, window.dash_clientside.dashboard, {
    /* Presentation mode: the page's class, and the caption (the selection's count in bold, then its words);
       nothing changes while the mode stays off. */
    present: function (present, count, words, cls) {
      var nu = window.dash_clientside.no_update;
      var on = Array.isArray(present) && present.indexOf("on") >= 0;
      if (!on) return cls === "app" ? [nu, nu] : ["app", null];
      return ["app present", [{type: "Strong", namespace: "dash_html_components", props: {children: count}},
                              " · ", words]];
    },
    /* Resolves once no figure of the page is waiting for its answer and the next frame is painted (at most
       3 s): the view's deferred parts (the mixed models) are asked for only then. */
    drawn: function () {
      return new Promise(function (resolve) {
        var start = performance.now();
        function pending() {
          return document.querySelector(
            '[data-dash-is-loading="true"] .js-plotly-plot, .js-plotly-plot[data-dash-is-loading="true"]');
        }
        function done() {
          window.requestAnimationFrame(function () { setTimeout(function () { resolve(Date.now()); }, 0); });
        }
        (function step() {
          if (!pending() || performance.now() - start > 3000) done();
          else window.requestAnimationFrame(step);
        })();
      });
    },
  });
})();
