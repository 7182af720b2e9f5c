/* Only the visible view asks the server for anything: each view's callback listens to a store that
   this gate fills only while its tab is selected (a clientside callback: no request for hidden views).
   Arguments: the view's inputs in order, then its key (a State); returns the inputs, or no_update. */
(function () {
  "use strict";
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.dashboard = Object.assign({}, window.dash_clientside.dashboard, {
    gate: function () {
      var args = Array.prototype.slice.call(arguments);
      var key = args.pop();
      if (args[0] !== key) return window.dash_clientside.no_update;
      return args;
    },
  });
})();
