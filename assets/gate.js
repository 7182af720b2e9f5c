/* Only the visible view asks the server for anything: each view's callback listens to a request store that
   the gate fills only while its tab is selected (a clientside callback: no request for hidden views). One gate
   serves every view (dashboard/callbacks.py): its arguments are the union of the views' inputs (the selected
   tab first), then each view's last request (States), then the map (dashboard/layout.gate_map): each view's
   key and the positions of its inputs. It returns one value per view: its new request, or no_update. */
(function () {
  "use strict";
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.dashboard = Object.assign({}, window.dash_clientside.dashboard, {
    gate: function () {
      var args = Array.prototype.slice.call(arguments);
      var map = args.pop();
      var nu = window.dash_clientside.no_update;
      var last = args.splice(args.length - map.keys.length, map.keys.length);
      var tab = args[0];
      return map.keys.map(function (key, v) {
        if (key !== tab) return nu;
        var request = map.inputs[v].map(function (i) { return args[i] === undefined ? null : args[i]; });
        // the same request again (e.g. back on a tab whose inputs did not change): nothing to recompute
        return JSON.stringify(request) === JSON.stringify(last[v]) ? nu : request;
      });
    },
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
