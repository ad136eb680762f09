// The daily service screens (回访, 投诉建议, 通知公告, 满意度调查): small conveniences over
// server-rendered forms. No inline script anywhere: behaviour hangs on data- attributes.
(function () {
  "use strict";

  // <form data-once>: a second click does not send the form again (the server guards too).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.once === undefined) return;
    if (event.defaultPrevented) return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    // After this turn: the submitter's name/value are already in the form's data.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });

  // <form data-scope-form>: only the picker of the chosen scope is shown.
  function showTargets(form) {
    var checked = form.querySelector("input[name=scope]:checked");
    var scope = checked ? checked.value : "";
    form.querySelectorAll("[data-for-scope]").forEach(function (box) {
      box.hidden = box.dataset.forScope !== scope;
    });
    var urgent = form.querySelector("input[name=urgent]");
    if (urgent) {
      var staff = scope === "departments" || scope === "all_staff";
      urgent.disabled = staff;
      if (staff) urgent.checked = false;
    }
  }
  document.querySelectorAll("form[data-scope-form]").forEach(function (form) {
    showTargets(form);
    form.addEventListener("change", function (event) {
      if (event.target instanceof HTMLInputElement && event.target.name === "scope") {
        showTargets(form);
      }
    });
  });

  // Survey results: one bar chart per choice or scale question (the numbers are in tables).
  var source = document.getElementById("survey-charts");
  if (source && window.echarts) {
    var charts = JSON.parse(source.textContent || "[]");
    var drawn = [];
    charts.forEach(function (chart) {
      var el = document.querySelector('[data-chart="' + chart.id + '"]');
      if (!el) return;
      var instance = window.echarts.init(el, null, { renderer: "svg" });
      instance.setOption({
        animation: false,
        grid: { left: 40, right: 16, top: 16, bottom: 40, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: chart.labels, axisLabel: { interval: 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: chart.values, itemStyle: { color: "#1565c0" }, barMaxWidth: 48,
                   label: { show: true, position: "top" } }]
      });
      drawn.push(instance);
    });
    window.addEventListener("resize", function () {
      drawn.forEach(function (c) { c.resize(); });
    });
  }
})();
