// Draws every chart of the page from its JSON spec (<script type="application/json">).
// The pages carry no inline script, so the Content-Security-Policy can allow scripts from
// this server only.
"use strict";
(function () {
  function draw() {
    var charts = document.querySelectorAll("div.ms-chart[data-spec]");
    for (var i = 0; i < charts.length; i++) {
      var div = charts[i];
      var source = document.getElementById(div.getAttribute("data-spec"));
      if (!source || typeof Plotly === "undefined") { continue; }
      var spec = JSON.parse(source.textContent);
      Plotly.newPlot(div, spec.data, spec.layout, spec.config);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
