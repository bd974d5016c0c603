// "Notify me on this phone": subscribes this browser to Web Push with the server's VAPID public
// key, and posts the subscription as a form, with the page's CSRF token, to the button's
// data-push-subscribe URL (a beekeeper's devices, /push/devices; or a reporter's status link's
// /push). The offer ([data-push-offer]) is shown only where the browser can receive push
// messages; the worker (sw.js) shows what arrives.
(function () {
  "use strict";

  var text = window.CityHiveText.texts({
    "push.subscribed": "This phone will be notified.",
    "push.denied": "Notifications are blocked for CityHive in this browser's settings.",
    "push.failed": "Could not turn on notifications. Please try again."
  });

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  // base64url (the server's key) as the bytes PushManager.subscribe wants.
  function bytesOf(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function csrfToken() {
    var shell = document.querySelector(".shell[hx-headers]");
    try { return shell ? JSON.parse(shell.getAttribute("hx-headers"))["X-CSRF-Token"] || "" : ""; } catch (e) { return ""; }
  }

  function say(button, message) {
    var scope = button.closest(".push-offer, section") || document;
    var status = scope.querySelector("[data-push-status]");
    if (!status) return;
    status.textContent = message;
    status.hidden = false;
  }

  var SUBSCRIBE_TIMEOUT_MS = 30000;  // a browser that cannot reach its push service may never answer

  function subscription(key) {
    var subscribed = navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        return existing || registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytesOf(key) });
      });
    });
    var late = new Promise(function (resolve, reject) {
      setTimeout(function () { reject(new Error("timeout")); }, SUBSCRIBE_TIMEOUT_MS);
    });
    return Promise.race([subscribed, late]);
  }

  function subscribe(button) {
    button.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return subscription(button.getAttribute("data-push-key"));
    }).then(function (subscribed) {
      var json = subscribed.toJSON();
      var token = csrfToken();
      var body = new URLSearchParams({ endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth, _csrf: token });
      return fetch(button.getAttribute("data-push-subscribe"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": token }
      });
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      say(button, text("push.subscribed"));
      var refresh = button.getAttribute("data-push-refresh");
      if (refresh && window.htmx) window.htmx.ajax("GET", "/push/devices", { target: refresh, swap: "outerHTML" });
    }).catch(function (error) {
      say(button, text(error && error.message === "denied" ? "push.denied" : "push.failed"));
    }).then(function () { button.disabled = false; });
  }

  function offer(root) {
    if (!supported()) return;
    (root.querySelectorAll ? root : document).querySelectorAll("[data-push-offer]").forEach(function (element) { element.hidden = false; });
    (root.querySelectorAll ? root : document).querySelectorAll("[data-push-unsupported]").forEach(function (element) { element.hidden = true; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-push-subscribe]");
    if (!button) return;
    event.preventDefault();
    subscribe(button);
  });
  if (window.htmx) window.htmx.onLoad(offer);
  else document.addEventListener("DOMContentLoaded", function () { offer(document); });
})();
