// Renders the quarterly report's plotly figures for paper: a fixed size, static (no hover, no
// mode bar) and not responsive, so that printing never resizes a chart past the page.
(function () {
  function render() {
    var pending = [];
    document.querySelectorAll("[data-report-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.reportFigure);
      if (!source || !window.Plotly || el.dataset.rendered) return;
      var figure = JSON.parse(source.textContent);
      pending.push(
        window.Plotly.newPlot(el, figure.data, figure.layout, { staticPlot: true, responsive: false, displayModeBar: false })
          .then(function () { el.dataset.rendered = "1"; })
      );
    });
    Promise.all(pending).then(function () { document.body.dataset.chartsRendered = "1"; });
  }
  document.addEventListener("DOMContentLoaded", render);
})();
