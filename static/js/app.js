// CityHive's own script: small, no inline code (the CSP forbids it), and nothing a page needs to work.
(function () {
  "use strict";

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
    announce(heading || "Something went wrong (error " + xhr.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    announce("Could not reach CityHive. Check your connection and try again.");
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

  function toast(message, withLink) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var item = document.createElement("p");
    item.className = "toast";
    item.textContent = message + " ";
    if (withLink) {
      var link = document.createElement("a");
      link.href = "/alerts";
      link.textContent = "Open alerts";
      item.appendChild(link);
    }
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, SHOWN_MS);
  }

  document.addEventListener("cityhive:alerts", function (event) { toast(event.detail.message, true); });
  document.addEventListener("cityhive:toast", function (event) { toast(event.detail.message, false); });
})();
