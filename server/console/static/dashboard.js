// 数据看板: draws the charts from <script type="application/json" id="dashboard-data">.
// Every number drawn is also in the table beside its chart; a click on a bar or a day opens
// the console's order board with that item's filter (its `href`, built by the server).
// Tooltips are drawn on the canvas (renderMode "richText"): no HTML with style attributes,
// which the Content-Security-Policy would refuse.
(function () {
  "use strict";

  var FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif';
  var COLORS = ["#1565c0", "#2e7d32", "#6a1b9a", "#78909c", "#ef6c00", "#c62828", "#ad1457"];
  var charts = [];

  function base(empty) {
    var option = {
      animation: false,
      color: COLORS,
      textStyle: { fontFamily: FONT, fontSize: 12 },
      tooltip: { renderMode: "richText", confine: true },
      grid: { left: 24, right: 24, top: 32, bottom: 16, containLabel: true }
    };
    if (empty) {
      option.title = {
        text: "无数据", left: "center", top: "middle",
        textStyle: { color: "#66727f", fontSize: 14, fontWeight: "normal", fontFamily: FONT }
      };
    }
    return option;
  }

  // A click anywhere in a category's column (not only on the thin line's point) opens it.
  function clickable(chart, hrefs) {
    var zr = chart.getZr();
    function indexAt(event) {
      var point = [event.offsetX, event.offsetY];
      if (!chart.containPixel("grid", point)) return -1;
      var at = chart.convertFromPixel({ seriesIndex: 0 }, point);
      var i = at ? Math.round(at[0]) : -1;
      return i >= 0 && i < hrefs.length && hrefs[i] ? i : -1;
    }
    zr.on("click", function (event) {
      var i = indexAt(event);
      if (i >= 0) window.location.assign(hrefs[i]);
    });
    zr.on("mousemove", function (event) {
      if (indexAt(event) >= 0) zr.setCursorStyle("pointer");
    });
  }

  function make(id, option, hrefs) {
    var el = document.getElementById(id);
    if (!el) return;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    if (hrefs) clickable(chart, hrefs);
    charts.push(chart);
  }

  function labelsOf(items) { return items.map(function (i) { return i.label; }); }
  function hrefsOf(items) { return items.map(function (i) { return i.href; }); }

  function categoryAxis(labels) {
    return {
      type: "category",
      data: labels,
      axisTick: { alignWithLabel: true },
      axisLabel: { interval: 0, rotate: labels.length > 6 ? 30 : 0, hideOverlap: true }
    };
  }

  function bars(id, items, name) {
    var option = base(items.length === 0);
    option.tooltip.trigger = "axis";
    option.xAxis = categoryAxis(labelsOf(items));
    option.yAxis = { type: "value", minInterval: 1 };
    option.series = [{
      name: name, type: "bar", barMaxWidth: 48,
      data: items.map(function (i) { return i.value; }),
      label: { show: true, position: "top" }
    }];
    make(id, option, hrefsOf(items));
  }

  function trend(data) {
    var option = base(data.dates.length === 0);
    var shown = { filed: true, completed: true, cancelled: true, overdue_now: true };
    var selected = {};
    data.series.forEach(function (s) { selected[s.name] = !!shown[s.key]; });
    option.tooltip.trigger = "axis";
    option.legend = { top: 4, selected: selected };
    option.grid.top = 44;
    option.xAxis = {
      type: "category", boundaryGap: false,
      data: data.dates.map(function (d) { return d.slice(5); })
    };
    option.yAxis = { type: "value", minInterval: 1 };
    option.series = data.series.map(function (s) {
      return { name: s.name, type: "line", data: s.values, symbolSize: 5 };
    });
    make("chart-trend", option, data.hrefs);
  }

  function technicians(items) {
    var option = base(items.length === 0);
    option.tooltip.trigger = "axis";
    option.legend = { top: 0 };
    option.grid.top = 56;
    option.xAxis = categoryAxis(labelsOf(items));
    option.yAxis = [
      { type: "value", name: "完工数", minInterval: 1 },
      { type: "value", name: "小时", splitLine: { show: false } }
    ];
    option.series = [
      {
        name: "完工数", type: "bar", barMaxWidth: 36,
        data: items.map(function (i) { return i.completed; })
      },
      {
        name: "平均处理时长（小时）", type: "bar", barMaxWidth: 36, yAxisIndex: 1,
        data: items.map(function (i) { return i.hours; })
      }
    ];
    make("chart-technicians", option, hrefsOf(items));
  }

  function start() {
    var holder = document.getElementById("dashboard-data");
    if (!holder || !window.echarts) return;
    var data = JSON.parse(holder.textContent);
    trend(data.trend);
    bars("chart-type", data.by_type, "报修数");
    bars("chart-community", data.by_community, "报修数");
    bars("chart-rating", data.ratings, "工单数");
    technicians(data.technicians);
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (c) { c.resize(); });
      }, 100);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
