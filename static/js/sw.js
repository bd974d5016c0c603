// CityHive's service worker, served at /sw.js (scope /) by app/pwa/views.py, which puts this
// build's settings in front of it as self.CITYHIVE_SW: {version, precache, offline, outbox,
// tiles, tileLimit, pageLimit}. The version is a hash of everything precached, so any change to
// the shell makes a new worker, which waits until the user accepts the reload that pwa.js offers.
//
// What it does, request by request (the strategies are named as in Workbox's recipes):
//   /static/...          static resource cache: precached at install; stale-while-revalidate
//                        (a content-hashed ?v= URL never changes, so a hit needs no revalidation;
//                        offline, another version of the same file will do)
//   pages                page cache: network first; after a short timeout or a failure, the copy
//                        of that page saved the last time it loaded, else the offline page.
//                        "Pages" are navigations and htmx's boosted and history-restore requests,
//                        which get whole pages; plain htmx fragment requests go to the network.
//   map tiles            their own cache, bounded: the least recently used tiles go first
//   anything else        untouched (GeoJSON, the API, forms' POSTs, other sites)
// The outbox (outbox.js) is sent from here too, on a Background Sync, when no page is open.
//
// Saved pages belong to one user. Each is kept with the server's CityHive-User header (an opaque
// tag of the account it was made for; empty for nobody), and a saved page is served only while
// the session is that same account's. Who that is comes from the tag cookie, which the browser
// drops with the session (expiry, cleared cookies, another log-in), so it holds offline too;
// without the Cookie Store API, from the last answer of the server. A new account in the
// server's answers deletes every page saved for another (app/pwa/owner.py, docs/security.md).
//
// Saved pages are in one language too: each is kept with the server's Content-Language, and is
// served only while that is the reader's language, which is the language of the server's last
// answer (a change of language is a request to the server, so it is never made offline). A new
// language in the server's answers deletes every page saved in another; and as at a log-out,
// the page asks for all of them to go when the reader chooses a language (pwa.js), since htmx
// posts that choice, and follows its redirect, without the worker. The worker shows no words of
// its own but for a last-resort offline page, whose words a page gives it (pwa.js).
(function () {
  "use strict";

  var CONFIG = self.CITYHIVE_SW;
  var SHELL = "cityhive-shell-" + CONFIG.version;
  var PAGES = "cityhive-pages-v2";  // v2: each page carries its user's tag (and its language)
  var TILES = "cityhive-tiles-v1";
  // Who reads: the last user tag the server gave (for browsers without cookieStore), the last
  // language, and per language the words of the last-resort offline page.
  var WHO = "cityhive-user-v1";
  var WHO_KEY = "/__cityhive/last-user";
  var LANGUAGE_KEY = "/__cityhive/last-language";
  var ACCESS_KEY = "/__cityhive/last-access";
  var TEXTS_KEY = "/__cityhive/texts/";  // + the language
  var LANGUAGE_TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
  var CURRENT = [SHELL, PAGES, TILES, WHO];
  var PAGE_TIMEOUT_MS = 5000;   // then a saved copy: a phone on one bar of signal should not wait
  var OFFLINE_REFRESH_MS = 10 * 60 * 1000;
  var PREFETCH_FRESH_MS = 5 * 60 * 1000;
  var SYNC_TAG = "cityhive-outbox";
  var tilePattern = CONFIG.tiles ? new RegExp(CONFIG.tiles) : null;
  var lastOfflineRefresh = 0;

  importScripts(CONFIG.outbox);
  var Outbox = self.CityHiveOutbox;

  function noop() {}

  // ---- life cycle ----

  self.addEventListener("install", function (event) {
    event.waitUntil(caches.open(SHELL).then(function (cache) {
      return cache.addAll(CONFIG.precache.map(function (url) {
        // Content-hashed URLs may come from the HTTP cache; the rest must be fresh.
        // The offline page is saved as nobody's: it is what anyone may be shown.
        var credentials = url === CONFIG.offline ? "omit" : "same-origin";
        return new Request(url, { credentials: credentials, cache: /[?&]v=/.test(url) ? "default" : "no-cache" });
      }));
    }));
    // No skipWaiting(): open pages keep the worker they started with until the user reloads.
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(Promise.all([
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("cityhive-") === 0 && CURRENT.indexOf(name) < 0;
        }).map(function (name) { return caches.delete(name); }));
      }),
      self.registration.navigationPreload ? self.registration.navigationPreload.enable().catch(noop) : null
    ]).then(function () { return self.clients.claim(); }));
  });

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "skip-waiting") {
      self.skipWaiting();
    } else if (data.type === "claim") {
      // A page whose navigation began before this worker activated missed activate's claim().
      event.waitUntil(self.clients.claim());
    } else if (data.type === "version") {
      reply(event, { type: "version", version: CONFIG.version });
    } else if (data.type === "prefetch" && Array.isArray(data.urls)) {
      event.waitUntil(prefetch(data.urls).catch(noop));
    } else if (data.type === "forget-pages") {
      event.waitUntil(caches.delete(PAGES).then(function () { reply(event, { type: "pages-forgotten" }); }));
    } else if (data.type === "texts" && LANGUAGE_TAG.test(String(data.language)) && data.texts) {
      event.waitUntil(keepTexts(data.language, data.texts).catch(noop));
    }
  });

  function reply(event, message) {
    if (event.ports && event.ports[0]) event.ports[0].postMessage(message);
    else if (event.source) event.source.postMessage(message);
  }

  // ---- routing ----

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") return;
    var url = new URL(request.url);
    if (url.origin === self.location.origin) {
      if (url.pathname.indexOf("/static/") === 0) event.respondWith(staticFile(event, url));
      else if (request.mode === "navigate" || wantsWholePage(request)) event.respondWith(page(event, url));
      return;
    }
    if (tilePattern && tilePattern.test(request.url)) event.respondWith(tile(event, request));
  });

  // htmx asks for a whole page when boosted or restoring history (app/web/htmx.py render()).
  function wantsWholePage(request) {
    var headers = request.headers;
    return headers.get("HX-Request") === "true" &&
      (headers.get("HX-Boosted") === "true" || headers.get("HX-History-Restore-Request") === "true");
  }

  // ---- static resource cache: stale-while-revalidate ----

  function staticFile(event, url) {
    var request = event.request;
    return caches.open(SHELL).then(function (cache) {
      return cache.match(request).then(function (cached) {
        if (cached && url.searchParams.has("v")) return cached;
        var network = fetch(request).then(function (response) {
          if (response.ok && response.type === "basic") return cache.put(request, response.clone()).then(function () { return response; });
          return response;
        });
        if (cached) {
          event.waitUntil(network.catch(noop));
          return cached;
        }
        return network.catch(function (error) {
          // Offline, and this version was never saved: any version of the same file.
          return caches.match(url.origin + url.pathname, { ignoreSearch: true }).then(function (other) {
            if (other) return other;
            throw error;
          });
        });
      });
    });
  }

  // ---- whose session this is, and in which language ----

  var lastUser = null;  // the tag in the server's last answer; null: not known in this run
  var lastLanguage = null;  // the language of the server's last answer; null: not known in this run
  var lastAccess = null;  // the access version of the server's last answer; null: not known

  function remembered(key) {
    return caches.open(WHO).then(function (cache) { return cache.match(key); })
      .then(function (saved) { return saved ? saved.text() : ""; })
      .catch(function () { return ""; });
  }

  function rememberedUser() {
    if (lastUser !== null) return Promise.resolve(lastUser);
    return remembered(WHO_KEY);
  }

  function currentLanguage() {
    if (lastLanguage !== null) return Promise.resolve(lastLanguage);
    return remembered(LANGUAGE_KEY);
  }

  function currentAccess() {
    if (lastAccess !== null) return Promise.resolve(lastAccess);
    return remembered(ACCESS_KEY);
  }

  // The tag of the account whose session the browser holds now ("" for nobody).
  function currentUser() {
    if (self.cookieStore && typeof self.cookieStore.get === "function") {
      return self.cookieStore.get(CONFIG.userCookie).then(function (cookie) {
        return cookie && cookie.value ? cookie.value : "";
      }, rememberedUser);
    }
    return rememberedUser();
  }

  // The reader now: {user, language, access}.
  function currentReader() {
    return Promise.all([currentUser(), currentLanguage(), currentAccess()]).then(function (found) {
      return { user: found[0], language: found[1], access: found[2] };
    });
  }

  function ownerOf(response) {
    return response ? response.headers.get(CONFIG.userHeader) : null;
  }

  function languageOf(response) {
    return response ? response.headers.get("Content-Language") : null;
  }

  function accessOf(response) {
    return response ? response.headers.get(CONFIG.accessHeader) || "" : "";
  }

  // Whether a saved page is for this reader: their account's, in their language, saved while
  // they were in the apiaries they are in now.
  function isFor(saved, reader) {
    return Boolean(saved) && ownerOf(saved) === reader.user && languageOf(saved) === reader.language &&
      accessOf(saved) === reader.access;
  }

  // An answer of the server names the session's user, the reader's language and the version of
  // their memberships: when any is another than before, the pages saved for anyone else, in
  // another language, or before a membership changed (an apiary left or lost) go.
  function noteReader(response) {
    var user = ownerOf(response);
    var language = languageOf(response);
    var access = accessOf(response);
    if (user === null || language === null) return Promise.resolve();
    if (user === lastUser && language === lastLanguage && access === lastAccess) return Promise.resolve();
    lastUser = user;
    lastLanguage = language;
    lastAccess = access;
    lastOfflineRefresh = 0;  // this reader's own offline page, with the next page
    return Promise.all([
      caches.open(WHO).then(function (cache) {
        return Promise.all([
          cache.put(WHO_KEY, new Response(user)), cache.put(LANGUAGE_KEY, new Response(language)),
          cache.put(ACCESS_KEY, new Response(access))
        ]);
      }),
      forgetPagesNotFor({ user: user, language: language, access: access })
    ]).catch(noop);
  }

  function forgetPagesNotFor(reader) {
    return caches.open(PAGES).then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.map(function (key) {
          return cache.match(key, { ignoreVary: true }).then(function (saved) {
            return isFor(saved, reader) ? null : cache.delete(key, { ignoreVary: true });
          });
        }));
      });
    });
  }

  // The words of the last-resort offline page, as a page gave them, per language.
  var knownTexts = {};

  function keepTexts(language, texts) {
    var words = {};
    ["sw.offlineTitle", "sw.offline", "sw.offlineLead"].forEach(function (key) {
      if (typeof texts[key] === "string") words[key] = texts[key];
    });
    var json = JSON.stringify(words);
    if (knownTexts[language] === json) return Promise.resolve();
    knownTexts[language] = json;
    return caches.open(WHO).then(function (cache) {
      return cache.put(TEXTS_KEY + language, new Response(json, { headers: { "Content-Type": "application/json" } }));
    });
  }

  function textsFor(language) {
    return caches.open(WHO).then(function (cache) { return cache.match(TEXTS_KEY + language); })
      .then(function (saved) { return saved ? saved.json() : null; })
      .catch(function () { return null; });
  }

  // ---- page cache: network first, then the saved copy, then the offline page ----

  function pageKey(url) {
    return url.origin + url.pathname + url.search;
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function savable(response) {
    var type = response.headers.get("Content-Type") || "";
    return ownerOf(response) !== null && languageOf(response) !== null && response.status === 200 && response.type === "basic" && !response.redirected && type.indexOf("text/html") === 0 &&
      (response.headers.get("Cache-Control") || "").indexOf("no-store") < 0;
  }

  function savePage(key, response) {
    return caches.open(PAGES).then(function (cache) {
      return cache.put(key, response).then(function () { return trim(cache, CONFIG.pageLimit); });
    });
  }

  // The copy saved for this reader, or none: another account's copy, or a copy in another
  // language, is never served.
  function savedPage(key, reader) {
    return caches.open(PAGES).then(function (cache) { return cache.match(key, { ignoreVary: true }); })
      .then(function (saved) { return isFor(saved, reader) ? saved : undefined; });
  }

  // The reader's own offline page (their menu, their language), else the one saved at install,
  // which is nobody's, in the language the browser asks for: if that is the reader's, else a
  // bare page in the reader's words (when a page gave them), else the one saved at install.
  function offlinePage(reader) {
    var installed = caches.open(SHELL).then(function (cache) { return cache.match(CONFIG.offline, { ignoreVary: true }); });
    return savedPage(CONFIG.offline, reader).then(function (own) {
      if (own) return own;
      return installed.then(function (shell) {
        if (shell && languageOf(shell) === reader.language) return shell;
        return textsFor(reader.language).then(function (words) {
          if (words) return barePage(reader.language, words);
          return shell || barePage("en", {});
        });
      });
    }).then(function (saved) {
      // A new Response, with no URL of its own: the address bar (and the URL htmx pushes)
      // stays the page that was asked for, which the user can reload when back online.
      if (saved.status === 503) return saved;
      return new Response(saved.body, { status: 200, statusText: "OK", headers: saved.headers });
    });
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  // The last resort, when no offline page was saved at all: a heading and a sentence.
  function barePage(language, words) {
    var title = words["sw.offlineTitle"] || "Offline";
    var heading = words["sw.offline"] || "You are offline";
    var lead = words["sw.offlineLead"] || "This page is not saved on this phone, so it needs a connection.";
    var html = "<!doctype html><html lang=\"" + escapeHtml(language) + "\"><meta charset=\"utf-8\"><title>" + escapeHtml(title) +
      "</title><h1>" + escapeHtml(heading) + "</h1><p>" + escapeHtml(lead) + "</p></html>";
    return new Response(html, {
      status: 503, headers: { "Content-Type": "text/html; charset=utf-8", "Content-Language": language }
    });
  }

  function page(event, url) {
    var key = pageKey(url);
    var preload = event.request.mode === "navigate" && event.preloadResponse ? event.preloadResponse : Promise.resolve(null);
    // A failed preload is asked again as a plain fetch before the network counts as gone.
    var network = preload.catch(function () { return null; }).then(function (preloaded) {
      return preloaded || fetch(event.request);
    }).then(function (response) {
      var noted = noteReader(response);
      // The copy is taken now: once the page has read the body, a clone could no longer be
      // made (and noting a new reader takes a while, so the first page after one was lost).
      var copy = savable(response) ? response.clone() : null;
      if (copy) event.waitUntil(noted.then(function () { return savePage(key, copy); }).catch(noop));
      if (response.ok) refreshOfflinePage(event);
      return response;
    });
    event.waitUntil(network.catch(noop));
    var TIMED_OUT = {};
    return Promise.race([network, delay(PAGE_TIMEOUT_MS).then(function () { return TIMED_OUT; })])
      .then(function (answer) {
        if (answer !== TIMED_OUT) return answer;
        return currentReader().then(function (reader) { return savedPage(key, reader); })
          .then(function (saved) { return saved || network; });
      })
      .catch(function () {
        return currentReader().then(function (reader) {
          return savedPage(key, reader).then(function (saved) { return saved || offlinePage(reader); });
        });
      });
  }

  // The offline page shows the nav of whoever was signed in when it was saved: keep it current.
  function refreshOfflinePage(event) {
    var now = Date.now();
    if (now - lastOfflineRefresh < OFFLINE_REFRESH_MS) return;
    lastOfflineRefresh = now;
    event.waitUntil(fetch(CONFIG.offline, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!savable(response)) return null;
      return noteReader(response).then(function () { return savePage(CONFIG.offline, response); });
    }).catch(noop));
  }

  // A page asks for the pages it links with data-offline-prefetch (a hive's forms), so they
  // open offline too. Each is fetched as a whole page and saved like a visited one.
  // A copy saved in the last few minutes is kept as it is: rewriting it would only churn (and
  // while the cache rewrites an entry, that page has no copy).
  function prefetch(urls) {
    return currentReader().then(function (reader) {
      return Promise.all(urls.map(function (href) {
        var url = new URL(href, self.location.origin);
        if (url.origin !== self.location.origin) return null;
        return savedPage(pageKey(url), reader).then(function (saved) {
          var savedAt = saved ? Date.parse(saved.headers.get("Date") || "") : NaN;
          if (Date.now() - savedAt < PREFETCH_FRESH_MS) return null;
          return fetch(url.href, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
            if (!savable(response)) return null;
            return noteReader(response).then(function () { return savePage(pageKey(url), response); });
          });
        }).catch(noop);
      }));
    });
  }

  // ---- map tiles: cache first, bounded, least recently used out ----

  function tile(event, request) {
    return caches.open(TILES).then(function (cache) {
      return cache.match(request.url).then(function (cached) {
        if (cached) {
          // Put it back at the end of the cache's order: the order is the least recently used.
          event.waitUntil(cache.put(request.url, cached.clone()).catch(noop));
          return cached;
        }
        // CORS, so the response's status can be checked and its true size counted; tile
        // servers send Access-Control-Allow-Origin. The Referer (our origin) is their policy.
        return fetch(request.url, { mode: "cors", credentials: "omit", referrerPolicy: "strict-origin-when-cross-origin" })
          .then(function (response) {
            if (response.ok) {
              event.waitUntil(cache.put(request.url, response.clone()).then(function () {
                return trim(cache, CONFIG.tileLimit);
              }).catch(noop));
            }
            return response;
          }, function () {
            return fetch(request);  // a tile server without CORS: as the page asked, not saved
          });
      });
    });
  }

  // Keep the newest `limit` entries of a cache; its keys come oldest first.
  var trimming = Promise.resolve();
  function trim(cache, limit) {
    trimming = trimming.then(function () {
      return cache.keys().then(function (keys) {
        var extra = keys.length - limit;
        if (extra <= 0) return null;
        return Promise.all(keys.slice(0, extra).map(function (key) { return cache.delete(key); }));
      });
    }).catch(noop);
    return trimming;
  }

  // ---- Background Sync: the outbox, when the browser says the connection is back ----

  // ---- Web Push: notifications (app/push/, app/pages/notifications.py) ----
  // A message is JSON {title, body, url, tag, actions}, in the reader's language. A click opens
  // its page, or focuses a window already showing it; offline, the page cache above answers the
  // navigation with the copy saved last time.

  var ICON = (CONFIG.precache || []).filter(function (url) { return /\/icons\/icon-192\.png/.test(url); })[0] || "/static/icons/icon-192.png";

  function pageOf(url) {
    try {
      var target = new URL(url || "/", self.location.origin);
      return target.origin === self.location.origin ? target.href : self.location.origin + "/";
    } catch (e) {
      return self.location.origin + "/";
    }
  }

  self.addEventListener("push", function (event) {
    var message = null;
    try { message = event.data ? event.data.json() : null; } catch (e) { message = null; }
    if (!message || !message.title) return;
    event.waitUntil(self.registration.showNotification(message.title, {
      body: message.body || "",
      icon: ICON,
      badge: ICON,
      tag: message.tag || "",
      data: { url: pageOf(message.url) },
      actions: (message.actions || []).slice(0, 2)
    }));
  });

  function openOrFocus(url) {
    return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      var showing = windows.filter(function (client) { return client.url === url; })[0];
      if (showing) return showing.focus();
      var any = windows.filter(function (client) { return "navigate" in client; })[0];
      if (any) return any.navigate(url).then(function (client) { return (client || any).focus(); });
      return self.clients.openWindow(url);
    });
  }

  // Every action opens the notification's page: "Claim" opens the report, where claiming is a
  // form like any other.
  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    event.waitUntil(openOrFocus(pageOf(event.notification.data && event.notification.data.url)));
  });

  self.addEventListener("sync", function (event) {
    if (event.tag !== SYNC_TAG) return;
    event.waitUntil(syncOutbox());
  });

  // An open page sends it (with its live CSRF token, and it redraws as records go); with none
  // open, this worker sends it with a token fetched from the server. Rejecting asks the browser
  // to try again later.
  function syncOutbox() {
    return self.clients.matchAll({ type: "window" }).then(function (windows) {
      var flushed = windows.length ? askPage(windows[0]) : Outbox.flush({ token: Outbox.freshToken, user: currentUser });
      return flushed.then(function (result) {
        if (result && result.stopped === "retry") throw new Error("The outbox could not be sent yet.");
      });
    });
  }

  function askPage(client) {
    return new Promise(function (resolve) {
      var channel = new MessageChannel();
      var timer = setTimeout(function () { resolve(null); }, 60000);
      channel.port1.onmessage = function (event) {
        clearTimeout(timer);
        resolve(event.data);
      };
      client.postMessage({ type: "outbox-flush" }, [channel.port2]);
    });
  }

  // Tests and tools read the worker's own view of things from here.
  self.cityhive = {
    version: CONFIG.version, caches: { shell: SHELL, pages: PAGES, tiles: TILES }, trim: trim,
    currentUser: currentUser, currentLanguage: currentLanguage
  };
})();
