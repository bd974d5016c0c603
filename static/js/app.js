// CityHive's own script: small, no inline code (the CSP forbids it), and nothing a page needs to work.

// The scripts' words and formats, in the page's language. The server writes the words,
// translated, into the shell as JSON in an inert <template id="texts" lang="de">
// (templates/partials/pwa/texts.html: not a <script>, which htmx drops from a boosted page).
// Each script keeps its own English under the same keys, the fallback for a key it lacks:
//   var text = CityHiveText.texts({ "map.loading": "Loading…" });  text("map.loading")
// Placeholders are written %(name)s, as in the catalogues: text("app.error", { status: 500 }).
// A plural text is [singular, plural] and is picked by the language's plural rules for `num`:
// text("pwa.sent", { num: 3 }). Numbers filled in are formatted for the language.
// Dates and numbers follow the language as the server writes them (app/web/i18n.py
// FORMAT_LOCALES: English as written in Europe, the 24-hour clock everywhere).
window.CityHiveText = (function () {
  "use strict";

  var FORMAT_LOCALES = { en: "en-GB", de: "de-DE", fr: "fr-FR" };
  var block = null;
  var words = {};
  var formats = {};

  function element() { return document.getElementById("texts"); }

  // The block is read again when htmx has swapped in another one (after a change of language,
  // a boosted page keeps the <html lang> it started with: the block's own lang is the page's).
  function read() {
    var found = element();
    if (found !== block) {
      block = found;
      var json = found ? (found.content || found).textContent : "";
      try { words = json ? JSON.parse(json) || {} : {}; } catch (e) { words = {}; }
    }
    return words;
  }

  function language() {
    var found = element();
    return (found && found.getAttribute("lang")) || document.documentElement.lang || "en";
  }

  function locale() {
    var lang = language();
    return FORMAT_LOCALES[lang] || lang;
  }

  function formatter(kind, options) {
    var key = kind + "|" + locale() + "|" + JSON.stringify(options || {});
    if (!formats[key]) {
      try {
        formats[key] = kind === "number" ? new Intl.NumberFormat(locale(), options) : new Intl.DateTimeFormat(locale(), options);
      } catch (e) {
        formats[key] = kind === "number" ? new Intl.NumberFormat("en-GB", options) : new Intl.DateTimeFormat("en-GB", options);
      }
    }
    return formats[key];
  }

  // 1,204.5 (1.204,5 in German); options as Intl.NumberFormat's.
  function number(value, options) { return formatter("number", options).format(value); }

  // A Date as the language writes it, on the 24-hour clock; options as Intl.DateTimeFormat's.
  function dateTime(date, options) {
    var opts = {};
    for (var name in options) if (Object.prototype.hasOwnProperty.call(options, name)) opts[name] = options[name];
    if (opts.hour) opts.hourCycle = "h23";
    // In the city's time, as the server writes it, whatever zone the device is set to.
    var shell = document.querySelector(".shell[data-time-zone]");
    if (!opts.timeZone && shell) opts.timeZone = shell.dataset.timeZone;
    return formatter("date", opts).format(date);
  }

  function fill(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (whole, name) {
      var value = values ? values[name] : undefined;
      if (value === undefined || value === null) return "";
      return typeof value === "number" ? number(value) : String(value);
    });
  }

  function pick(forms, n) {
    if (!Array.isArray(forms)) return forms;
    var one = false;
    try { one = new Intl.PluralRules(locale()).select(n) === "one"; } catch (e) { one = n === 1; }
    return one ? forms[0] : forms[forms.length - 1];
  }

  // A script's text function, with its English as the fallback.
  function texts(english) {
    return function (key, values) {
      var translated = read()[key];
      var template = translated === undefined ? english[key] : translated;
      if (template === undefined) return key;
      return fill(pick(template, values && typeof values.num === "number" ? values.num : 1), values);
    };
  }

  return { texts: texts, language: language, locale: locale, number: number, dateTime: dateTime, fill: fill };
})();

(function () {
  "use strict";

  var text = window.CityHiveText.texts({
    "app.error": "Something went wrong (error %(status)s). Please try again.",
    "app.unreachable": "Could not reach CityHive. Check your connection and try again."
  });

  function announce(message) {
    var region = document.getElementById("alerts");
    if (!region) return;
    region.replaceChildren();
    var alert = document.createElement("p");
    alert.className = "alert";
    alert.textContent = message;
    region.appendChild(alert);
  }

  // A request htmx could not swap (an error status) or could not send (no network) must not
  // look like a dead click: say what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var heading = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var title = doc.querySelector("h1");
      var detail = doc.querySelector(".error-detail");
      heading = [title && title.textContent, detail && detail.textContent].filter(Boolean).join(": ");
    } catch (e) { /* not HTML */ }
    announce(heading || text("app.error", { status: String(xhr.status) }));
  });
  document.addEventListener("htmx:sendError", function () {
    announce(text("app.unreachable"));
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var region = document.getElementById("alerts");
    if (region) region.replaceChildren();
  });
})();

// Alert toasts. The shell's #toasts polls /alerts/poll every minute (signed in only); when
// alerts are new, the answer's HX-Trigger names `cityhive:alerts`. An acknowledgement names
// `cityhive:toast`. #toasts is a polite live region, so the message is read out too.
(function () {
  "use strict";
  var SHOWN_MS = 10000;
  var text = window.CityHiveText.texts({
    "app.openAlerts": "Open alerts"
  });

  function toast(message, withLink) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var item = document.createElement("p");
    item.className = "toast";
    item.textContent = message + " ";
    if (withLink) {
      var link = document.createElement("a");
      link.href = "/alerts";
      link.textContent = text("app.openAlerts");
      item.appendChild(link);
    }
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, SHOWN_MS);
  }

  document.addEventListener("cityhive:alerts", function (event) { toast(event.detail.message, true); });
  document.addEventListener("cityhive:toast", function (event) { toast(event.detail.message, false); });
})();
