// Charts of the quality page (Chart.js from npm); the numbers come from the page's JSON.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const bar = (id, label, values) => new window.Chart(document.getElementById(id), {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label, data: values.map((v) => (v === null ? 0 : v)) }] },
    options: { responsive: true, plugins: { legend: { display: true } } },
  });
  bar("chart-passes", "passes", data.passes);
  bar("chart-qc", "QC agreement (0-1)", data.qc);
  bar("chart-time", "seconds per step", data.seconds_per_step);
})();
