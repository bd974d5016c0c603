// CityHive's offline outbox: the inspections and harvests recorded without a connection wait here,
// in IndexedDB, until they can be sent. Loaded by every page (before pwa.js, which draws it) and
// by the service worker (importScripts), so a Background Sync can send it with no page open.
//
// A record is sent once and only once: it carries its own Idempotency-Key, made when the user
// pressed the button, and the server keeps each key's first answer, so a record sent again after
// an answer was lost (a network that dropped mid-sync) is recognised, not stored twice. Records
// go in the order they were made, one at a time; the first that cannot be sent for a reason that
// may pass (no network, a timeout, a server error) stops the run and everything stays queued.
// A record the server refuses (422: a mistake in it) is kept and shown to the user to fix; an
// expired session stops the run until the user logs in again. Nothing is ever dropped unless
// the server took it or the user discarded it.
//
// Each record belongs to the account it was written under: it carries that account's user tag
// (the shell's data-user, see app/pwa/owner.py) and goes out only while the session is that same
// account's, saying so in CityHive-User; the server refuses (409) a record of another account.
// Records of another account are held until it logs in again here, or until the user discards them.
//
// The CSRF token is never stored: the page passes its own (from the shell's hx-headers) at sync
// time, and a refused token (403) is replaced once by a fresh one from the server.
//
// Its words are the page's (CityHiveText, app.js); in the service worker, which has no page,
// they stay English, and nothing it says there is shown: a record the server refused without
// saying why keeps its status, and the page words the message when it draws the record.
(function (scope) {
  "use strict";

  var ENGLISH = {
    "outbox.olderTab": "The outbox is open in an older tab.",
    "outbox.notSaved": "The outbox could not be saved.",
    "outbox.gone": "This record is no longer in the outbox.",
    "outbox.serverAnswered": "The server answered %(status)s.",
    "outbox.tooSlow": "The server took too long to answer.",
    "outbox.noConnection": "No connection."
  };
  var text = scope.CityHiveText ? scope.CityHiveText.texts(ENGLISH) : function (key, values) {
    return ENGLISH[key].replace(/%\((\w+)\)s/g, function (whole, name) { return String(values[name]); });
  };

  var DB_NAME = "cityhive";
  var DB_VERSION = 1;
  var STORE = "outbox";
  var LOCK = "cityhive-outbox";
  var CHANNEL = "cityhive-outbox";
  var TOKEN_PAGE = "/offline";  // any page of ours carries the session's CSRF token
  var SEND_TIMEOUT_MS = 20000;
  var NOT_SENT = ["_csrf", "idempotency_key"];  // the page's token and key are not the record's

  var WAITING = "waiting";   // queued, to be sent
  var REFUSED = "refused";   // the server said no: the user must fix or discard it

  var connection = null;
  var listeners = [];
  var channel = null;  // other tabs and the worker: opened with the first listener

  // ---- IndexedDB ----

  function requestDone(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function database() {
    if (connection) return connection;
    connection = new Promise(function (resolve, reject) {
      var opening = indexedDB.open(DB_NAME, DB_VERSION);
      opening.onupgradeneeded = function () {
        var db = opening.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      opening.onsuccess = function () {
        var db = opening.result;
        db.onversionchange = function () { db.close(); connection = null; };  // a newer page upgrades
        resolve(db);
      };
      opening.onerror = function () { connection = null; reject(opening.error); };
      opening.onblocked = function () { connection = null; reject(new Error(text("outbox.olderTab"))); };
    });
    return connection;
  }

  // Run `work(store)` in one transaction; resolves with work's result once the data is on disk.
  function transaction(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new Error(text("outbox.notSaved"))); };
        Promise.resolve(work(tx.objectStore(STORE))).then(function (value) { result = value; }, function (error) {
          try { tx.abort(); } catch (e) { /* already finished */ }
          reject(error);
        });
      });
    });
  }

  // Listeners (here, in other tabs, in pages while the worker sends) hear of every change;
  // `news` says more when there is more to say: {sent: {id, hive, kind}} for a record sent.
  function tell(listener, news) {
    try { listener(news || {}); } catch (e) { /* a listener's own bug must not stop the others */ }
  }

  function changed(news) {
    listeners.forEach(function (listener) { tell(listener, news); });
    if (typeof BroadcastChannel === "function") {
      var other = channel || new BroadcastChannel(CHANNEL);
      other.postMessage(news || {});
      if (other !== channel) other.close();
    }
  }

  // ---- the records ----

  function newKey() {
    if (scope.crypto && typeof scope.crypto.randomUUID === "function") return scope.crypto.randomUUID();
    var bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // [[name, value], ...] of a form's data, without the page's token and key.
  function fieldsOf(formData) {
    var fields = [];
    formData.forEach(function (value, name) {
      if (typeof value === "string" && NOT_SENT.indexOf(name) < 0) fields.push([name, value]);
    });
    return fields;
  }

  // Queue a record: {kind, hive, label, action, fields, user, key?}. Resolves with the stored record;
  // rejects when the browser cannot store it (storage full, storage off), and then nothing is queued.
  function add(entry) {
    var record = {
      key: entry.key || newKey(),
      kind: String(entry.kind || "record"),
      hive: String(entry.hive || ""),
      label: String(entry.label || "Record"),
      action: String(entry.action),
      fields: entry.fields || [],
      user: String(entry.user || ""),
      createdAt: new Date().toISOString(),
      state: WAITING,
      problem: "",
      status: 0,
      refusedForm: "",
      attempts: 0
    };
    return transaction("readwrite", function (store) {
      return requestDone(store.add(record)).then(function (id) { record.id = id; return record; });
    }).then(function (stored) { changed(); return stored; });
  }

  function all() {
    return transaction("readonly", function (store) { return requestDone(store.getAll()); })
      .then(function (records) { return records.sort(function (a, b) { return a.id - b.id; }); });
  }

  function get(id) {
    return transaction("readonly", function (store) { return requestDone(store.get(id)); });
  }

  function put(record) {
    return transaction("readwrite", function (store) { return requestDone(store.put(record)); })
      .then(function () { changed(); return record; });
  }

  function remove(id, news) {
    return transaction("readwrite", function (store) { return requestDone(store.delete(id)); })
      .then(function () { changed(news); });
  }

  function ownerOf(record) { return record.user || ""; }  // records from before tags: nobody's

  // The user chose to throw away what other accounts left on this phone: every record that is
  // not `user`'s. Resolves with how many went.
  function discardOthers(user) {
    return transaction("readwrite", function (store) {
      return requestDone(store.getAll()).then(function (records) {
        var others = records.filter(function (record) { return ownerOf(record) !== user; });
        return Promise.all(others.map(function (record) { return requestDone(store.delete(record.id)); }))
          .then(function () { return others.length; });
      });
    }).then(function (gone) { changed(); return gone; });
  }

  // The user corrected a refused record: it waits again, under a new key (the refused one may
  // be remembered with its refusal).
  function resubmit(id, fields) {
    return get(id).then(function (record) {
      if (!record) throw new Error(text("outbox.gone"));
      record.fields = fields;
      record.key = newKey();
      record.state = WAITING;
      record.problem = "";
      record.status = 0;
      record.refusedForm = "";
      return put(record);
    });
  }

  // ---- sending ----

  // The CSRF token in a page of ours: the shell's hx-headers hold {"X-CSRF-Token": "..."}.
  function tokenIn(html) {
    var match = /"X-CSRF-Token":\s*"([^"]+)"/.exec(html || "");
    return match ? match[1] : null;
  }

  // A token straight from the server, for when the page's has expired (or there is no page).
  function freshToken() {
    return fetch(TOKEN_PAGE, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(tokenIn);
  }

  function pathOf(url) {
    try { return new URL(url, scope.location.href).pathname; } catch (e) { return ""; }
  }

  function withTimeout(ms) {
    if (typeof AbortController !== "function") return { signal: undefined, done: function () {} };
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, ms);
    return { signal: controller.signal, done: function () { clearTimeout(timer); } };
  }

  // One POST; resolves with what happened: "sent", "refused" (+ problem, form), "token",
  // "login" or "retry" (+ problem). Never rejects.
  function send(record, token) {
    var body = new URLSearchParams(record.fields);
    body.set("idempotency_key", record.key);
    var timer = withTimeout(SEND_TIMEOUT_MS);
    return fetch(record.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "follow",
      signal: timer.signal,
      headers: {
        Accept: "text/html",
        "Idempotency-Key": record.key,
        "X-CSRF-Token": token || "",
        "CityHive-Sync": "outbox",
        "CityHive-User": ownerOf(record)
      }
    }).then(function (response) {
      timer.done();
      var status = response.status;
      if (status === 401 || (response.redirected && pathOf(response.url) === "/login")) return { outcome: "login" };
      if (status === 403) return { outcome: "token" };
      if (status === 409) return { outcome: "owner" };  // not this session's record: held (app/pwa/owner.py)
      if (status >= 200 && status < 400) return { outcome: "sent" };
      if (status === 408 || status === 429 || status >= 500) {
        return { outcome: "retry", problem: text("outbox.serverAnswered", { status: String(status) }) };
      }
      return response.text().then(function (html) {
        return { outcome: "refused", status: status, html: html };
      }, function () { return { outcome: "refused", status: status, html: "" }; });
    }, function (error) {
      timer.done();
      var timedOut = error && error.name === "AbortError";
      return { outcome: "retry", problem: text(timedOut ? "outbox.tooSlow" : "outbox.noConnection") };
    });
  }

  // Only one sender at a time across tabs and the service worker, so no record goes out twice
  // concurrently (the server would cope, but the user would see it counted twice).
  var running = null;
  function exclusively(work) {
    var locks = scope.navigator && scope.navigator.locks;
    if (locks && typeof locks.request === "function") return locks.request(LOCK, work);
    if (running) return running;
    running = Promise.resolve().then(work).then(function (value) { running = null; return value; }, function (error) {
      running = null;
      throw error;
    });
    return running;
  }

  // Send what waits, in order. options.token(): the live page's CSRF token (or a promise of it);
  // options.onToken(token): told of a fresh token, so the page can use it too; options.user():
  // the tag of the account whose session the browser holds now (or a promise of it): only its
  // records go.
  // Resolves with {sent: [records], refused: [records], waiting: n, held: n, stopped:
  // null|"retry"|"login"|"owner", problem: text}; `held` counts the records of other accounts.
  function flush(options) {
    options = options || {};
    return exclusively(function () {
      var result = { sent: [], refused: [], waiting: 0, held: 0, stopped: null, problem: "" };
      var user = "";
      return Promise.all([options.token ? options.token() : null, options.user ? options.user() : ""]).then(function (given) {
        var token = given[0];
        user = given[1] || "";
        return all().then(function (records) {
          var queue = records.filter(function (record) { return record.state === WAITING && ownerOf(record) === user; });
          var freshTried = false;

          function next() {
            var record = queue.shift();
            if (!record) return Promise.resolve();
            return attempt(record).then(function (go) { return go ? next() : null; });
          }

          function attempt(record) {
            record.attempts = (record.attempts || 0) + 1;
            return send(record, token).then(function (answer) {
              if (answer.outcome === "token" && !freshTried) {
                freshTried = true;  // once per run: a second 403 means the session is gone
                return freshToken().then(function (fresh) {
                  if (!fresh) return stop(record, "retry", text("outbox.noConnection"));
                  token = fresh;
                  if (options.onToken) options.onToken(fresh);
                  return attempt(record);
                }, function () { return stop(record, "retry", text("outbox.noConnection")); });
              }
              if (answer.outcome === "token" || answer.outcome === "login") return stop(record, "login", "");
              if (answer.outcome === "owner") return stop(record, "owner", "");  // the session changed meanwhile
              if (answer.outcome === "retry") return stop(record, "retry", answer.problem);
              if (answer.outcome === "sent") {
                var sent = { id: record.id, hive: record.hive, kind: record.kind };
                return remove(record.id, { sent: sent }).then(function () { result.sent.push(record); return true; });
              }
              record.state = REFUSED;
              record.status = answer.status;
              record.problem = problemIn(answer.html);
              record.refusedForm = answer.status === 422 ? formIn(answer.html) : "";
              return put(record).then(function () { result.refused.push(record); return true; });
            });
          }

          function stop(record, why, problem) {
            result.stopped = why;
            result.problem = problem;
            return put(record).then(function () { return false; }, function () { return false; });
          }

          return next().then(function () {
            return all().then(function (left) {
              result.waiting = left.filter(function (record) { return record.state === WAITING; }).length;
              result.held = left.filter(function (record) { return ownerOf(record) !== user; }).length;
              // Nobody is signed in and records wait for their account: a log-in sends them.
              if (!result.stopped && !user && result.held) result.stopped = "login";
              return result;
            });
          });
        });
      });
    });
  }

  // What the server said, as text for the user (in the session's language): the messages beside
  // the fields of a 422 form, or an error page's detail; "" when it said nothing more than its
  // status, which the page then puts in words (pwa.js).
  function problemIn(html) {
    var messages = [];
    var pattern = /<p class="error"[^>]*>([\s\S]*?)<\/p>/g;
    var match;
    while ((match = pattern.exec(html || "")) !== null) messages.push(textOf(match[1]));
    if (!messages.length) {
      var detail = /<p class="error-detail">([\s\S]*?)<\/p>/.exec(html || "");
      if (detail) messages.push(textOf(detail[1]));
    }
    return messages.filter(Boolean).join(" ");
  }

  function textOf(html) {
    return html.replace(/<[^>]*>/g, "").replace(/&#(\d+);/g, function (_, n) { return String.fromCharCode(Number(n)); })
      .replace(/&quot;/g, "\"").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").trim();
  }

  // The refused form's HTML (values kept, messages beside the fields), for the user to fix.
  function formIn(html) {
    var match = /<form\b[^>]*\bdata-outbox=[\s\S]*?<\/form>/.exec(html || "");
    return match ? match[0] : "";
  }

  function count() {
    return all().then(function (records) { return records.length; });
  }

  function subscribe(listener) {
    listeners.push(listener);
    if (!channel && typeof BroadcastChannel === "function") {
      channel = new BroadcastChannel(CHANNEL);
      channel.onmessage = function (event) {
        listeners.forEach(function (listener) { tell(listener, event.data); });
      };
    }
  }

  scope.CityHiveOutbox = {
    WAITING: WAITING,
    REFUSED: REFUSED,
    add: add,
    all: all,
    count: count,
    get: get,
    remove: remove,
    discardOthers: discardOthers,
    ownerOf: ownerOf,
    resubmit: resubmit,
    flush: flush,
    fieldsOf: fieldsOf,
    newKey: newKey,
    tokenIn: tokenIn,
    freshToken: freshToken,
    subscribe: subscribe
  };
})(self);
