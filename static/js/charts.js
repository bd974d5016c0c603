// CityHive sensor charts: uPlot on every element with a data-chart attribute (the hive page's
// sensors panel). Each holds one sensor's downsampled series as JSON, {label, unit, decimals,
// t: [Unix seconds], min: [], max: [], mean: []}: the mean as a line, min to max as a band.
// uPlot and its CSS are loaded on first need, from the URLs the panel names (data-chart-lib,
// data-chart-css), so pages without charts load nothing. Charts start through htmx.onLoad, so
// a panel swapped in by a range link gets them too. The text beside each chart says what it
// shows, for readers who cannot see it and for browsers without JavaScript.
// Words, dates and numbers are in the page's language (CityHiveText, in app.js): uPlot's own
// axis and legend formats (American dates, a 12-hour clock) are replaced by Intl's.
(function () {
  "use strict";
  if (typeof htmx === "undefined") return;

  var HEIGHT = 180;
  var HONEY = "#8a5a00";
  var DAY = 86400; // seconds: uPlot's time scale counts in seconds here
  var live = []; // {element, plot}
  var T = window.CityHiveText;
  var text = T.texts({
    "chart.time": "Time",
    "chart.lowest": "Lowest",
    "chart.highest": "Highest",
    "chart.mean": "Mean"
  });
  var library = null; // the Promise of uPlot, once asked for

  function loadLibrary(panel) {
    if (window.uPlot) return Promise.resolve(window.uPlot);
    if (library) return library;
    library = new Promise(function (resolve, reject) {
      var style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = panel.dataset.chartCss;
      document.head.appendChild(style);
      var script = document.createElement("script");
      script.src = panel.dataset.chartLib;
      script.addEventListener("load", function () { resolve(window.uPlot); });
      script.addEventListener("error", function () {
        library = null;
        reject(new Error("could not load the chart library"));
      });
      document.head.appendChild(script);
    });
    return library;
  }

  function formatter(data) {
    var places = { minimumFractionDigits: data.decimals, maximumFractionDigits: data.decimals };
    return function (u, value) {
      return value === null || value === undefined ? "–" : T.number(value, places) + " " + data.unit;
    };
  }

  function moment(seconds) { return new Date(seconds * 1000); }

  // The legend's time: 26 Nov 2026, 14:05 (26. Nov. 2026, 14:05).
  function when(u, seconds) {
    if (seconds === null || seconds === undefined) return "–";
    return T.dateTime(moment(seconds), { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  // The time axis: months, days, or hours with the day under the first tick of each day.
  function timeTicks(u, splits, axisIndex, space, increment) {
    var lastDay = null;
    return splits.map(function (seconds) {
      var date = moment(seconds);
      if (increment >= 28 * DAY) return T.dateTime(date, { month: "short", year: "numeric" });
      var day = T.dateTime(date, { day: "numeric", month: "short" });
      if (increment >= DAY) return day;
      var time = T.dateTime(date, { hour: "2-digit", minute: "2-digit" });
      var label = day !== lastDay ? time + "\n" + day : time;
      lastDay = day;
      return label;
    });
  }

  // A series' name: the chart's own (data-label-lowest and so on, templates/partials/sensors/
  // panel.html), else the page's texts.
  function label(element, name) {
    return element.getAttribute("data-label-" + name) || text("chart." + name);
  }

  function showLatestWhenAway(u) {
    var last = u.data[0].length - 1;
    if ((u.cursor.idx === null || u.cursor.idx === undefined) && last >= 0) u.setLegend({ idx: last });
  }

  function draw(uPlot, element) {
    if (element.dataset.chartReady) return;
    var data;
    try {
      data = JSON.parse(element.dataset.chart);
    } catch (e) {
      return;
    }
    element.dataset.chartReady = "true";
    var value = formatter(data);
    var options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      series: [
        { label: label(element, "time"), value: when },
        { label: label(element, "lowest"), stroke: "rgba(138, 90, 0, 0.35)", width: 1, value: value },
        { label: label(element, "highest"), stroke: "rgba(138, 90, 0, 0.35)", width: 1, value: value },
        { label: label(element, "mean"), stroke: HONEY, width: 2, value: value }
      ],
      bands: [{ series: [2, 1], fill: "rgba(242, 176, 30, 0.25)" }],
      axes: [
        { values: timeTicks },
        { size: 72, values: function (u, ticks) { return ticks.map(function (t) { return T.number(t) + " " + data.unit; }); } }
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      // Away from the chart (a phone has no hover) the legend shows the latest point, not dashes;
      // a tap or a pointer on the chart shows the point under it.
      hooks: { setCursor: [showLatestWhenAway], ready: [showLatestWhenAway] }
    };
    var plot = new uPlot(options, [data.t, data.min, data.max, data.mean], element);
    live.push({ element: element, plot: plot });
  }

  function start(root) {
    var charts = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("[data-chart]") : []);
    if (root.matches && root.matches("[data-chart]")) charts.push(root);
    if (!charts.length) return;
    var panel = charts[0].closest("[data-chart-lib]");
    if (!panel) return;
    loadLibrary(panel).then(function (uPlot) {
      charts.forEach(function (element) { if (element.isConnected) draw(uPlot, element); });
    }).catch(function () { /* the text beside each chart says what it shows */ });
  }

  // Charts follow their container's width; those swapped out are let go.
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      live = live.filter(function (chart) {
        if (!chart.element.isConnected) {
          chart.plot.destroy();
          return false;
        }
        chart.plot.setSize({ width: Math.max(chart.element.clientWidth, 200), height: HEIGHT });
        return true;
      });
    }, 150);
  });

  htmx.onLoad(start);
})();
