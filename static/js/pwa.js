// CityHive as an installed app, in the page: registers the service worker (sw.js), offers a
// reload when a new version is waiting and an install button when the browser offers one, and
// runs the offline outbox (outbox.js) for the user:
//   - a form marked data-outbox (record an inspection, log a harvest) that cannot be sent, because
//     the phone is offline or the request fails, is saved in the outbox instead, and the user is
//     taken to the hive's page, where it shows at the top of the timeline, "waiting to sync";
//   - the badge in the shell says how many records wait; it opens the outbox panel, where a record
//     the server refused is shown with the server's messages, to fix and send again, or discard;
//   - the outbox is sent when the page starts, when the connection comes back, when the service
//     worker relays a Background Sync, and after a failure again and again, backing off; an expired
//     session asks the user to log in, and the records wait for them;
//   - records belong to the account whose page they were written on (the shell's data-user): a
//     page shows only its own user's records, and only the records of the account whose session
//     the browser holds (the tag cookie) are sent. Another account's records are only counted, in
//     a notice that offers to discard them (see outbox.js and app/pwa/owner.py).
// No inline code (the CSP forbids it) and nothing a page needs to work without JavaScript.
(function () {
  "use strict";

  var Outbox = window.CityHiveOutbox;
  var SYNC_TAG = "cityhive-outbox";
  var QUEUED_NOTE = "cityhive:queued";
  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 60000;
  // The English; the page's language comes from its texts block (CityHiveText, in app.js).
  // A plural text is [singular, plural], picked for `num`.
  var T = window.CityHiveText;
  var text = T.texts({
    "pwa.queued": "Saved on this phone: %(label)s. It will be sent when you are back online.",
    "pwa.queuedHere": "Saved on this phone. It will be sent when you are back online.",
    "pwa.storageFull": "This phone could not save the record (%(reason)s), so it was not recorded. Free some space or try again with a connection.",
    "pwa.storageError": "storage error",
    "pwa.sent": ["%(num)s record saved on this phone was sent.", "%(num)s records saved on this phone were sent."],
    "pwa.refused": [
      "The server could not take %(num)s saved record. Open the outbox to fix it.",
      "The server could not take %(num)s saved records. Open the outbox to fix them."
    ],
    "pwa.logIn": ["Log in to send the %(num)s record saved on this phone.", "Log in to send the %(num)s records saved on this phone."],
    "pwa.logInLink": "Log in",
    "pwa.retry": "Could not send the saved records yet (%(problem)s). Trying again soon.",
    "pwa.waiting": "waiting to sync",
    "pwa.needsFixing": "needs fixing",
    "pwa.fixIt": "Fix it",
    "pwa.discard": "Discard",
    "pwa.discardConfirm": "Press again to discard it",
    "pwa.noForm": "This record cannot be sent as it is. Discard it, or record it again.",
    "outbox.refusedError": "The server refused this record (error %(status)s).",
    "pwa.others": [
      "%(num)s record written by another account is waiting on this phone. Log in as that account to send it, or discard it.",
      "%(num)s records written by another account are waiting on this phone. Log in as that account to send them, or discard them."
    ],
    "pwa.othersNobody": [
      "%(num)s record saved on this phone is waiting for the account that wrote it. Log in as that account to send it, or discard it.",
      "%(num)s records saved on this phone are waiting for the account that wrote them. Log in as that account to send them, or discard them."
    ],
    "pwa.discardOthers": ["Discard it", "Discard them"],
    "pwa.discardOthersConfirm": ["Press again to discard %(num)s record for good", "Press again to discard %(num)s records for good"],
    "pwa.discardedOthers": ["%(num)s record of another account was discarded.", "%(num)s records of another account were discarded."],
    "sw.offlineTitle": "Offline",
    "sw.offline": "You are offline",
    "sw.offlineLead": "This page is not saved on this phone, so it needs a connection."
  });
  var WORKER_TEXTS = ["sw.offlineTitle", "sw.offline", "sw.offlineLead"];  // sw.js's last-resort offline page
  var USER_COOKIES = ["__Host-cityhive_user", "cityhive_user"];  // app/pwa/owner.py

  var state = {
    records: [],
    needsLogin: false,
    problem: "",
    retryDelay: 0,
    retryTimer: null,
    flushing: null,
    waitingWorker: null,
    reloading: false,
    installPrompt: null,
    installed: false,
    prefetched: {},
    flushedFor: null,  // the session's user when the outbox was last sent
    toldWorker: null  // the language whose words the worker was last given
  };

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }


  // ---- messages, in the shell's polite live region (#alerts) ----

  function announce(message, link) {
    var region = document.getElementById("alerts");
    if (!region) return;
    region.replaceChildren();
    var alert = document.createElement("p");
    alert.className = "alert alert--outbox";
    alert.textContent = message;
    if (link) {
      alert.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      alert.appendChild(a);
    }
    region.appendChild(alert);
  }

  function loginLink() {
    return { href: "/login?next=" + encodeURIComponent(location.pathname + location.search), text: text("pwa.logInLink") };
  }

  // ---- whose records ----

  // The account this page was made for ("" for nobody).
  function pageUser() {
    var element = shell();
    return element ? element.getAttribute("data-user") || "" : "";
  }

  // The account whose session the browser holds now: the tag cookie, which ends with the session.
  function sessionUser() {
    var found = {};
    document.cookie.split(";").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) found[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    });
    for (var i = 0; i < USER_COOKIES.length; i++) if (found[USER_COOKIES[i]]) return found[USER_COOKIES[i]];
    return "";
  }

  function ownRecords() {
    var user = pageUser();
    return state.records.filter(function (r) { return Outbox.ownerOf(r) === user; });
  }

  function othersCount() { return state.records.length - ownRecords().length; }

  // ---- drawing the outbox ----

  function render() {
    if (!Outbox) return Promise.resolve();
    return Outbox.all().then(function (records) {
      state.records = records;
      draw();
    }, function () { /* no storage in this browser: nothing is queued, nothing to draw */ });
  }

  function draw() {
    var records = ownRecords();
    var refused = records.filter(function (r) { return r.state === Outbox.REFUSED; }).length;
    all("[data-outbox-badge]").forEach(function (badge) {
      badge.hidden = records.length === 0;
      var count = badge.querySelector("[data-outbox-count]");
      if (count) count.textContent = String(records.length);
      badge.classList.toggle("outbox-badge--attention", refused > 0 || state.needsLogin);
    });
    all("[data-outbox-status]").forEach(drawStatus);
    all("[data-outbox-list]").forEach(function (list) { drawList(list, records); });
    var timeline = document.getElementById("timeline");
    if (timeline && timeline.dataset.hiveId) {
      drawTimeline(timeline, records.filter(function (r) { return r.hive === timeline.dataset.hiveId; }));
    }
    if (!records.length) all("[data-outbox-panel]").forEach(function (panel) { setPanel(panel, false); });
    all("[data-offline-notice]").forEach(function (notice) { notice.hidden = navigator.onLine; });
    all("[data-outbox-others]").forEach(drawOthers);
  }

  // Another account's records: how many, never what they are; to wait for it, or to discard.
  function drawOthers(notice) {
    var n = othersCount();
    notice.hidden = n === 0;
    var words = notice.querySelector("[data-outbox-others-text]");
    if (words) words.textContent = text(pageUser() ? "pwa.others" : "pwa.othersNobody", { num: n });
    var discard = notice.querySelector("[data-outbox-discard-others]");
    if (discard && (discard.dataset.confirming !== "true" || n === 0)) {
      discard.dataset.confirming = "false";
      discard.textContent = text("pwa.discardOthers", { num: n });
    }
  }

  function drawStatus(status) {
    status.replaceChildren();
    var waiting = ownRecords().filter(function (r) { return r.state === Outbox.WAITING; }).length;
    if (state.needsLogin && waiting) {
      status.textContent = text("pwa.logIn", { num: waiting }) + " ";
      var link = loginLink();
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      status.appendChild(a);
    } else if (state.problem && waiting) {
      status.textContent = text("pwa.retry", { problem: state.problem });
    } else if (!navigator.onLine && waiting) {
      status.textContent = text("pwa.queuedHere");
    }
  }

  function when(record) {
    var date = new Date(record.createdAt);
    var time = document.createElement("time");
    time.dateTime = record.createdAt;
    time.textContent = isNaN(date) ? "" : T.dateTime(date, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    return time;
  }

  function stateLabel(record) {
    var label = document.createElement("strong");
    var refused = record.state === Outbox.REFUSED;
    label.className = "outbox-state" + (refused ? " outbox-state--refused" : "");
    label.textContent = text(refused ? "pwa.needsFixing" : "pwa.waiting");
    return label;
  }

  // The hive's waiting records, newest first, at the top of its timeline.
  function drawTimeline(timeline, records) {
    all("[data-outbox-record]", timeline).forEach(function (item) { item.remove(); });
    for (var i = 0; i < records.length; i++) {
      var record = records[i];
      var item = document.createElement("li");
      item.className = "timeline-item timeline-item--waiting";
      item.dataset.outboxRecord = String(record.id);
      item.appendChild(when(record));
      item.appendChild(document.createTextNode(record.label + " "));
      item.appendChild(stateLabel(record));
      timeline.insertBefore(item, timeline.firstChild);
    }
  }

  // Every record, oldest first. An item is kept while its record is unchanged, so a form being
  // fixed in it survives a redraw.
  function drawList(list, records) {
    var kept = {};
    all(":scope > [data-outbox-record]", list).forEach(function (item) { kept[item.dataset.outboxRecord] = item; });
    var items = records.map(function (record) {
      var old = kept[record.id];
      var signature = record.state + "|" + record.key;
      if (old && old.dataset.signature === signature) {
        delete kept[record.id];
        return old;
      }
      return listItem(record, signature);
    });
    if (!records.length && list.dataset.empty) {
      var none = document.createElement("li");
      none.className = "outbox-item outbox-item--none";
      none.textContent = list.dataset.empty;
      items.push(none);
    }
    list.replaceChildren.apply(list, items);
  }

  function button(text, data, value) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.textContent = text;
    b.setAttribute(data, value);
    return b;
  }

  function listItem(record, signature) {
    var item = document.createElement("li");
    item.className = "outbox-item";
    item.dataset.outboxRecord = String(record.id);
    item.dataset.signature = signature;
    var head = document.createElement("p");
    head.className = "outbox-item__head";
    var label = document.createElement("span");
    label.className = "outbox-item__label";
    label.textContent = record.label;
    head.append(label, " ", when(record), " ", stateLabel(record));
    item.appendChild(head);
    if (record.state === Outbox.REFUSED) {
      var problem = document.createElement("p");
      problem.className = "error";
      problem.textContent = record.problem || text("outbox.refusedError", { status: String(record.status || "?") });
      item.appendChild(problem);
      var actions = document.createElement("p");
      actions.className = "actions";
      if (record.refusedForm) actions.appendChild(button(text("pwa.fixIt"), "data-outbox-fix", String(record.id)));
      else {
        var note = document.createElement("span");
        note.className = "hint";
        note.textContent = text("pwa.noForm");
        actions.appendChild(note);
      }
      actions.appendChild(button(text("pwa.discard"), "data-outbox-discard", String(record.id)));
      item.appendChild(actions);
      var fix = document.createElement("div");
      fix.className = "outbox-fix";
      fix.setAttribute("data-outbox-fix-area", "");
      item.appendChild(fix);
    }
    return item;
  }

  // The server's own form, as it refused it (values kept, a message beside each field), in the
  // record's item. Its ids get a prefix so they cannot clash with the page's.
  function showFixForm(item, record) {
    var area = item.querySelector("[data-outbox-fix-area]");
    if (!area || area.firstChild) return;
    var parsed = new DOMParser().parseFromString(record.refusedForm, "text/html").querySelector("form");
    if (!parsed) return;
    var form = document.importNode(parsed, true);
    var prefix = "outbox-" + record.id + "-";
    Array.prototype.slice.call(form.attributes).forEach(function (attribute) {
      if (/^(hx-|data-hx-)/.test(attribute.name)) form.removeAttribute(attribute.name);
    });
    form.removeAttribute("id");
    all("[id]", form).forEach(function (el) { el.id = prefix + el.id; });
    all("label[for]", form).forEach(function (el) { el.htmlFor = prefix + el.htmlFor; });
    all("[aria-describedby]", form).forEach(function (el) {
      el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").split(/\s+/).map(function (id) { return prefix + id; }).join(" "));
    });
    all("a[href^='#']", form).forEach(function (a) { a.setAttribute("href", "#" + prefix + a.getAttribute("href").slice(1)); });
    all("[autofocus]", form).forEach(function (el) { el.removeAttribute("autofocus"); });
    form.dataset.outboxRecord = String(record.id);
    area.appendChild(form);
    var first = form.querySelector("[aria-invalid='true'], input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function setPanel(panel, open) {
    panel.hidden = !open;
    all("[data-outbox-badge]").forEach(function (badge) { badge.setAttribute("aria-expanded", String(open)); });
  }

  // ---- queueing a form ----

  // Each form on the page gets its own key the first time it is sent, and keeps it: a second tap
  // or a retry of the same form is the same record, while a copy of the form saved for offline
  // use (whose server-made key would repeat) never reuses a key.
  function keyOf(form) {
    if (!form.cityhiveKey) form.cityhiveKey = Outbox.newKey();
    var input = form.querySelector("input[name='idempotency_key']");
    if (input) input.value = form.cityhiveKey;
    return form.cityhiveKey;
  }

  function formData(form, submitter) {
    try { return new FormData(form, submitter || undefined); } catch (e) { return new FormData(form); }
  }

  function actionOf(form) {
    var url = new URL(form.getAttribute("action") || location.href, location.href);
    return url.pathname + url.search;
  }

  function queue(form, submitter) {
    var label = form.dataset.outboxLabel || "Record";
    return Outbox.add({
      key: keyOf(form),
      kind: form.dataset.outbox,
      hive: form.dataset.outboxHive,
      label: label,
      user: pageUser(),
      action: actionOf(form),
      fields: Outbox.fieldsOf(formData(form, submitter))
    }).then(function (record) {
      askForSync();
      keepStorage();
      var controlled = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (record.hive && controlled) {
        try { sessionStorage.setItem(QUEUED_NOTE, label); } catch (e) { /* announced below instead */ }
        location.assign("/hives/" + encodeURIComponent(record.hive));
        return;
      }
      form.reset();
      form.cityhiveKey = null;
      announce(text("pwa.queued", { label: label }));
      return render();
    }, function (error) {
      announce(text("pwa.storageFull", { reason: (error && (error.name || error.message)) || text("pwa.storageError") }));
    });
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) return registration.sync.register(SYNC_TAG);
      return null;
    }).catch(function () { /* no Background Sync: the online event and the next start send it */ });
  }

  function keepStorage() {
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
  }

  function resubmitFixed(form) {
    var id = Number(form.dataset.outboxRecord);
    return Outbox.resubmit(id, Outbox.fieldsOf(formData(form))).then(function () {
      return render().then(flushSoon);
    }, function (error) { announce(error.message); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    // Logging out, or choosing another language, drops the pages saved for offline use: they
    // were another reader's, or in another language. (The worker sees no answer to either POST
    // when htmx posts it, so it cannot learn it on its own until the next page.)
    var action = form.getAttribute("action");
    if (action === "/logout" || action === "/language") { forgetPages(); return; }
    if (!form.hasAttribute("data-outbox") || !Outbox) return;
    if (form.dataset.outboxRecord) {
      event.preventDefault();
      event.stopPropagation();
      resubmitFixed(form);
      return;
    }
    keyOf(form);
    if (navigator.onLine) return;  // htmx (or the browser) sends it, with its key
    event.preventDefault();
    event.stopPropagation();  // before htmx sees it
    queue(form, event.submitter);
  }, true);

  // Online as far as the browser knows, but the request never got an answer: save it, with the
  // key it was sent with, in case it did reach the server.
  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && elt.closest ? elt.closest("form[data-outbox]") : null;
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (form && !form.dataset.outboxRecord && verb === "post" && Outbox) queue(form, null);
  });

  // ---- sending ----

  function shell() { return document.querySelector(".shell[hx-headers]"); }

  function liveToken() {
    var element = shell();
    try { return element ? JSON.parse(element.getAttribute("hx-headers"))["X-CSRF-Token"] || null : null; } catch (e) { return null; }
  }

  // A fresh token from the server: the page's htmx requests and forms use it from now on too.
  function useToken(token) {
    var element = shell();
    if (element) {
      var headers = {};
      try { headers = JSON.parse(element.getAttribute("hx-headers")) || {}; } catch (e) { headers = {}; }
      headers["X-CSRF-Token"] = token;
      element.setAttribute("hx-headers", JSON.stringify(headers));
    }
    all("input[name='_csrf']").forEach(function (input) { input.value = token; });
  }

  function flushSoon() {
    if (!Outbox || !navigator.onLine) return Promise.resolve(null);
    if (state.flushing) return state.flushing;
    clearTimeout(state.retryTimer);
    state.flushedFor = sessionUser();
    state.flushing = Outbox.flush({ token: liveToken, onToken: useToken, user: sessionUser }).then(function (result) {
      state.flushing = null;
      afterFlush(result);
      return result;
    }, function () {
      state.flushing = null;  // the outbox could not be read: try again later
      retryLater();
      return null;
    });
    return state.flushing;
  }

  function afterFlush(result) {
    state.needsLogin = result.stopped === "login";
    state.problem = result.stopped === "retry" ? result.problem : "";
    if (result.stopped === "retry") retryLater();
    else state.retryDelay = 0;
    var sent = result.sent.length, refused = result.refused.length;
    return render().then(function () {
      if (state.needsLogin && othersCount()) {
        return;  // the page's notice says whose they are, and offers to discard them
      } else if (state.needsLogin) {
        announce(text("pwa.logIn", { num: result.waiting }), loginLink());
      } else if (refused) {
        announce(text("pwa.refused", { num: refused }));
        all("[data-outbox-panel]").forEach(function (panel) { setPanel(panel, true); });
      } else if (sent) {
        announce(text("pwa.sent", { num: sent }));
      }
    });
  }

  function retryLater() {
    clearTimeout(state.retryTimer);
    state.retryDelay = Math.min(state.retryDelay ? state.retryDelay * 2 : RETRY_FIRST_MS, RETRY_MAX_MS);
    state.retryTimer = setTimeout(flushSoon, state.retryDelay);
  }

  // On the page of a hive whose records were just sent (from this page, another tab or the
  // service worker), show them as the server has them: the timeline alone, fetched as the
  // page's fragment, so the rest of the page (and its messages) stays as it is.
  var timelineTimer = null;
  function onOutboxNews(news) {
    render();
    var timeline = document.getElementById("timeline");
    if (!news.sent || !timeline || news.sent.hive !== timeline.dataset.hiveId) return;
    clearTimeout(timelineTimer);
    timelineTimer = setTimeout(refreshTimeline, 300);  // one refresh for a run of records
  }

  function refreshTimeline() {
    if (!navigator.onLine || !document.getElementById("timeline")) return Promise.resolve();
    return fetch(location.pathname + location.search, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", Accept: "text/html" }
    }).then(function (response) { return response.ok ? response.text() : ""; }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("timeline");
      var current = document.getElementById("timeline");
      if (!fresh || !current || fresh.dataset.hiveId !== current.dataset.hiveId) return;
      current.replaceChildren.apply(current, Array.prototype.map.call(fresh.childNodes, function (node) {
        return document.importNode(node, true);
      }));
      if (typeof htmx !== "undefined") htmx.process(current);  // boosted links, as before
      draw();
    }).catch(function () { /* the records show on the next visit */ });
  }

  // ---- the service worker ----

  function worker() {
    return navigator.serviceWorker && navigator.serviceWorker.controller;
  }

  function register() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).then(function (registration) {
      if (registration.waiting && worker()) offerReload(registration.waiting);
      registration.addEventListener("updatefound", function () {
        var installing = registration.installing;
        if (!installing) return;
        installing.addEventListener("statechange", function () {
          if (installing.state === "installed" && worker()) offerReload(installing);
        });
      });
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // This page started loading while the worker was activating: ask to be taken over too.
      if (!worker() && registration && registration.active) registration.active.postMessage({ type: "claim" });
    }).catch(function (error) {
      console.warn("CityHive works without offline support here:", error);
    });
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (state.reloading) location.reload();
      else {
        state.toldWorker = null;  // a new worker: it has not heard them
        tellWorkerTexts();
      }
    });
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type !== "outbox-flush") return;
      var port = event.ports && event.ports[0];
      flushSoon().then(function (result) {
        if (port) port.postMessage({ stopped: result ? result.stopped : "retry" });
      });
    });
  }

  function offerReload(waiting) {
    state.waitingWorker = waiting;
    drawChrome();
  }

  // The worker has no page to read words from: it is given the few that its last-resort offline
  // page needs (sw.js), in this page's language, once per page and language.
  function tellWorkerTexts() {
    var controller = worker();
    var language = T.language();
    if (!controller || state.toldWorker === language) return;
    state.toldWorker = language;
    var words = {};
    WORKER_TEXTS.forEach(function (key) { words[key] = text(key); });
    controller.postMessage({ type: "texts", language: language, texts: words });
  }

  function forgetPages() {
    var controller = worker();
    if (controller) controller.postMessage({ type: "forget-pages" });
  }

  // Pages linked with data-offline-prefetch (a hive's forms) are saved for offline use with it.
  // Each URL once per page load.
  function prefetchLinked(root) {
    var controller = worker();
    if (!controller || !navigator.onLine) return;
    var urls = all("a[data-offline-prefetch]", root).map(function (a) { return a.href; })
      .filter(function (url) { return !state.prefetched[url]; });
    urls.forEach(function (url) { state.prefetched[url] = true; });
    if (urls.length) controller.postMessage({ type: "prefetch", urls: urls });
  }

  // ---- the update prompt and the install button ----

  function drawChrome() {
    all("[data-update-prompt]").forEach(function (prompt) { prompt.hidden = !state.waitingWorker; });
    var standalone = window.matchMedia && window.matchMedia("(display-mode: standalone)").matches;
    all("[data-install]").forEach(function (b) { b.hidden = !state.installPrompt || state.installed || standalone; });
  }

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // our button, not the browser's mini bar, offers it
    state.installPrompt = event;
    drawChrome();
  });

  window.addEventListener("appinstalled", function () {
    state.installed = true;
    state.installPrompt = null;
    drawChrome();
  });

  // ---- clicks ----

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var install = target.closest("[data-install]");
    if (install && state.installPrompt) {
      var offer = state.installPrompt;
      state.installPrompt = null;  // a prompt can be shown once
      drawChrome();
      offer.prompt();
      return;
    }
    if (target.closest("[data-update-reload]") && state.waitingWorker) {
      state.reloading = true;
      state.waitingWorker.postMessage({ type: "skip-waiting" });
      return;
    }
    var badge = target.closest("[data-outbox-badge]");
    if (badge) {
      var panel = document.getElementById(badge.getAttribute("aria-controls"));
      if (panel) {
        setPanel(panel, panel.hidden);
        if (!panel.hidden) panel.focus();
      }
      return;
    }
    var fix = target.closest("[data-outbox-fix]");
    if (fix) {
      var id = Number(fix.getAttribute("data-outbox-fix"));
      var item = fix.closest("[data-outbox-record]");
      Outbox.get(id).then(function (record) { if (record && item) showFixForm(item, record); });
      return;
    }
    var discardOthers = target.closest("[data-outbox-discard-others]");
    if (discardOthers) {
      var n = othersCount();
      if (discardOthers.dataset.confirming !== "true") {
        discardOthers.dataset.confirming = "true";
        discardOthers.textContent = text("pwa.discardOthersConfirm", { num: n });
        return;
      }
      discardOthers.dataset.confirming = "false";
      Outbox.discardOthers(pageUser()).then(function (gone) {
        announce(text("pwa.discardedOthers", { num: gone }));
        return render();
      });
      return;
    }
    var discard = target.closest("[data-outbox-discard]");
    if (discard) {
      if (discard.dataset.confirming !== "true") {
        discard.dataset.confirming = "true";
        discard.textContent = text("pwa.discardConfirm");
        return;
      }
      Outbox.remove(Number(discard.getAttribute("data-outbox-discard"))).then(render);
    }
  });

  // ---- start ----

  // A form saved for offline use says when it was saved ("When: 9:02"), not when it is filled
  // in. Inputs marked data-now (datetime-local or date) get the time of day the page is shown,
  // unless the server's value was a choice (the form came back with errors, or was edited).
  // The time is the city's (the shell's data-time-zone, the server's TIME_ZONE), whatever zone
  // the device is set to: the server reads a time without a zone as the city's.
  function cityNow() {
    var shell = document.querySelector(".shell[data-time-zone]");
    var zone = (shell && shell.dataset.timeZone) || undefined;
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
    }).formatToParts(new Date()).forEach(function (part) { parts[part.type] = part.value; });
    return { day: parts.year + "-" + parts.month + "-" + parts.day, time: parts.hour + ":" + parts.minute };
  }
  function setNow(root) {
    var now = cityNow();
    all("input[data-now]", root).forEach(function (input) {
      var form = input.closest("form");
      if (input.value !== input.defaultValue || (form && form.querySelector(".form-summary"))) return;
      input.value = input.type === "date" ? now.day : now.day + "T" + now.time;
    });
  }

  function onPage(root) {
    drawChrome();
    setNow(root || document);
    render();
    prefetchLinked(root || document);
    tellWorkerTexts();
  }

  // Work that can wait runs when the page is idle: the first seconds belong to the page itself.
  function whenIdle(work) {
    if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(work, { timeout: 2000 });
    else setTimeout(work, 200);
  }

  function start() {
    var note = null;
    try {
      note = sessionStorage.getItem(QUEUED_NOTE);
      sessionStorage.removeItem(QUEUED_NOTE);
    } catch (e) { /* no session storage */ }
    if (note) announce(text("pwa.queued", { label: note }));
    drawChrome();
    if (Outbox) Outbox.subscribe(onOutboxNews);  // now: records may be sent while this loads
    whenIdle(function () {
      onPage(document);
      flushSoon();
    });
    // The worker installs after the page has loaded, so its precaching never slows a first visit.
    if (document.readyState === "complete") whenIdle(register);
    else window.addEventListener("load", function () { whenIdle(register); });
  }

  window.addEventListener("online", function () { state.retryDelay = 0; draw(); flushSoon(); });
  window.addEventListener("offline", draw);
  // Offline, the alert poll (#toasts, every minute) waits: it could only fail and log errors.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!navigator.onLine && event.detail && event.detail.elt && event.detail.elt.id === "toasts") event.preventDefault();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flushSoon();
  });
  // htmx swapped in a new page (a boosted link or form) or part of one: draw on it again.
  document.addEventListener("htmx:afterSettle", function (event) {
    onPage(event.detail && event.detail.elt);
    // Perhaps that was a log-in: its records may go now.
    if (state.needsLogin || sessionUser() !== state.flushedFor) flushSoon();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
