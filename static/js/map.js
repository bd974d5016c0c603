// CityHive maps: Leaflet (+ Leaflet.markercluster) on every element with a data-map attribute.
//   data-map="hives"   the map page: hives of the visible area, fetched as GeoJSON, clustered
//   data-map="point"   one hive's position on its page
//   data-map="picker"  hive form: tap, drag or locate to fill the latitude/longitude inputs
// Maps start through htmx.onLoad (so swapped-in content gets them too) and are removed before
// htmx snapshots the page for history. No inline code or styles here: the CSP forbids them.
// Leaflet, its cluster plug-in and their styles load on first need, from the URLs the map element
// names (data-leaflet-scripts, data-leaflet-styles: templates/partials/macros/hives.html), so
// pages without a map load none of it; a map below the first screen (a hive's or a swarm's
// point) waits until it is about to scroll into view. The service worker precaches them all.
(function () {
  "use strict";
  if (typeof htmx === "undefined") return;

  // The English; the page's language comes from its texts block (CityHiveText, in app.js).
  var text = window.CityHiveText.texts({
    "map.truncated": "Showing the first %(num)s hives in this area: zoom in to see them all.",
    "map.failed": "Could not load your hives. Check your connection.",
    "map.noLocation": "Could not find your location.",
    "map.locating": "Locating…",
    "map.loading": "Loading…",
    "map.cardFailed": "Could not load this hive.",
    "map.zoomIn": "Zoom in to see your hives in this area.",
    "map.noColonies": "No colonies on the map yet.",
    "map.densityFailed": "Could not load the city map. Check your connection.",
    "map.noSwarms": "No open swarm reports within your radius right now.",
    "map.swarmsFailed": "Could not load the swarm reports. Check your connection.",
    "map.openReport": "Open the report",
    "map.locateMe": "Locate me",
    "map.locateMeLabel": "Locate me: centre the map on my position",
    "map.hive": "Hive",
    "map.hivePosition": "Hive position: drag to move",
    "map.fewColonies": "A few colonies",
    "map.colonies": ["%(num)s colony", "%(num)s colonies"],
    "map.colonyRange": "%(range)s colonies",
    "map.swarm": "Swarm",
    "map.swarmAway": "Swarm, %(distance)s away"
  });
  var number = window.CityHiveText.number;
  var live = [];       // {element, map, saved}: the maps this script created
  var suspended = [];  // elements whose map was removed for a history snapshot
  var library = null;  // the Promise of Leaflet, once asked for

  // ---- helpers ----

  function toNumber(value) {
    if (value === null || value === undefined || String(value).trim() === "") return null;
    var n = Number(value);
    return isFinite(n) ? n : null;
  }

  function validLatLng(lat, lon) {
    return lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? L.latLng(lat, lon) : null;
  }

  function parseCenter(text) {
    var parts = String(text || "").split(",");
    return validLatLng(toNumber(parts[0]), toNumber(parts[1])) || L.latLng(20, 0);
  }

  function round6(n, limit) {
    return Math.round(Math.max(-limit, Math.min(limit, n)) * 1e6) / 1e6;
  }

  function fire(input, type) {
    input.dispatchEvent(new Event(type, { bubbles: true }));
  }

  // Geolocation for a button: "Locating…" while waiting, then back.
  function locate(button, onFound, onFail) {
    if (!navigator.geolocation) { onFail(); return; }
    if (button.getAttribute("aria-busy") === "true") return;
    var before = button.textContent, label = button.getAttribute("aria-label");
    button.textContent = text("map.locating");
    if (label) button.setAttribute("aria-label", text("map.locating"));
    button.setAttribute("aria-busy", "true");
    function done() {
      button.textContent = before;
      if (label) button.setAttribute("aria-label", label);
      button.removeAttribute("aria-busy");
    }
    navigator.geolocation.getCurrentPosition(
      function (position) {
        done();
        var lat = position.coords.latitude, lng = position.coords.longitude;
        onFound(window.L ? L.latLng(lat, lng) : { lat: lat, lng: lng });
      },
      function () { done(); onFail(); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  // ---- loading Leaflet ----

  // A script or a stylesheet added to the head, before `before` (null: at the end).
  function loaded(tag, attributes, before) {
    return new Promise(function (resolve, reject) {
      var node = document.createElement(tag);
      Object.keys(attributes).forEach(function (name) { node[name] = attributes[name]; });
      node.addEventListener("load", resolve);
      node.addEventListener("error", function () { reject(new Error("could not load " + (node.src || node.href))); });
      document.head.insertBefore(node, before || null);
    });
  }

  function words(value) { return String(value || "").split(/\s+/).filter(Boolean); }

  // The styles all at once, in their order before the page's own (map.css overrides Leaflet's
  // look: 44 px buttons, fonts); the scripts one after the other (the plug-in extends L).
  function loadLeaflet(element) {
    if (window.L) return Promise.resolve(window.L);
    if (library) return library;
    var pageStyles = document.head.querySelector('link[rel="stylesheet"]');
    var styles = words(element.dataset.leafletStyles).map(function (href) {
      return loaded("link", { rel: "stylesheet", href: href }, pageStyles);
    });
    var scripts = words(element.dataset.leafletScripts).reduce(function (previous, src) {
      return previous.then(function () { return loaded("script", { src: src, async: false }); });
    }, Promise.resolve());
    library = Promise.all(styles.concat([scripts])).then(function () { return window.L; });
    library.catch(function () { library = null; });
    return library;
  }

  // ---- map life cycle ----

  function createMap(element, options) {
    if (element.dataset.leafletImages) L.Icon.Default.imagePath = element.dataset.leafletImages;
    // Leaflet adds classes and a tabindex: remember the originals so a history snapshot is clean.
    var saved = ["class", "tabindex", "style"].map(function (name) { return [name, element.getAttribute(name)]; });
    var map = L.map(element, options);
    if (element.dataset.tileUrl) {
      L.tileLayer(element.dataset.tileUrl, {
        attribution: element.dataset.tileAttribution || "",  // HTML, from our own settings
        maxZoom: 19,
        // Our pages send no Referer cross-origin; OpenStreetMap's tile policy wants one (origin only).
        referrerPolicy: "strict-origin-when-cross-origin"
      }).addTo(map);
    }
    live.push({ element: element, map: map, saved: saved });
    return map;
  }

  function removeMap(entry) {
    entry.map.remove();  // fires "unload": each map type cleans up its own timers and listeners
    entry.saved.forEach(function (pair) {
      if (pair[1] === null) entry.element.removeAttribute(pair[0]);
      else entry.element.setAttribute(pair[0], pair[1]);
    });
  }

  // ---- data-map="hives" ----

  var LocateControl = null;  // made once Leaflet is here

  function locateControl(options) {
    LocateControl = LocateControl || L.Control.extend(LOCATE_CONTROL);
    return new LocateControl(options);
  }

  var LOCATE_CONTROL = {
    options: { position: "topleft" },
    onAdd: function () {
      var container = L.DomUtil.create("div", "leaflet-bar map-locate");
      var button = L.DomUtil.create("button", "map-locate__button", container);
      button.type = "button";
      button.textContent = text("map.locateMe");
      button.setAttribute("aria-label", text("map.locateMeLabel"));
      L.DomEvent.disableClickPropagation(container);
      L.DomEvent.on(button, "click", function () { this.options.onClick(button); }, this);
      return container;
    }
  };

  // What a GeoJSON feature says about a hive, or null; GeoJSON is [lon, lat], Leaflet [lat, lon].
  function readHive(feature) {
    var geometry = (feature && feature.geometry) || {};
    var c = geometry.coordinates || [];
    var latlng = geometry.type === "Point" ? validLatLng(toNumber(c[1]), toNumber(c[0])) : null;
    if (!latlng || feature.id === undefined || feature.id === null) return null;
    var name = String((feature.properties && feature.properties.name) || text("map.hive"));
    return { id: String(feature.id), latlng: latlng, name: name, signature: [latlng.lat, latlng.lng, name].join("|") };
  }

  // A popup keeps clear of the zoom and "Locate me" buttons at the top left (44 px wide, 10 px
  // in): the map pans it right of them rather than open under them.
  var POPUP_CLEAR_OF_CONTROLS = { autoPanPaddingTopLeft: [64, 16], autoPanPaddingBottomRight: [16, 16] };

  function hiveMarker(hive, cardUrl) {
    var marker = L.marker(hive.latlng, { alt: hive.name, riseOnHover: true });
    var label = document.createElement("span");
    label.textContent = hive.name;  // a node, never HTML: names are user data
    marker.bindTooltip(label);

    var content = document.createElement("div");
    content.className = "map-popup";
    content.textContent = text("map.loading");
    marker.bindPopup(content, L.extend({ minWidth: 200, maxWidth: 300 }, POPUP_CLEAR_OF_CONTROLS));
    function failed() { content.textContent = text("map.cardFailed"); }
    function fitted() { if (marker.isPopupOpen()) marker.getPopup().update(); }  // re-measure, re-pan
    marker.on("popupopen", function () {
      var url = cardUrl.replace("{id}", encodeURIComponent(hive.id));
      htmx.ajax("GET", url, { source: content, target: content, swap: "innerHTML" })
        .then(fitted, function () { failed(); fitted(); });  // rejected: no network, timeout
    });
    content.addEventListener("htmx:responseError", failed);  // an error status resolves, unswapped
    marker.signature = hive.signature;
    return marker;
  }

  function visibleBox(map) {
    var b = map.getBounds();
    return [round6(b.getWest(), 180), round6(b.getSouth(), 90), round6(b.getEast(), 180), round6(b.getNorth(), 90)];
  }

  // The server refuses boxes larger than data-max-bbox-area square degrees (a continent).
  function tooLarge(box, element) {
    var limit = toNumber(element.dataset.maxBboxArea);
    return limit !== null && (box[2] - box[0]) * (box[3] - box[1]) > limit;
  }

  function initHivesMap(element) {
    var map = createMap(element, {}).setView(parseCenter(element.dataset.center), toNumber(element.dataset.zoom) || 11);
    var cluster = L.markerClusterGroup({ showCoverageOnHover: false }).addTo(map);
    var next = element.nextElementSibling;
    var notice = next && next.matches("[data-map-notice]") ? next
      : element.parentElement && element.parentElement.querySelector("[data-map-notice]");
    if (notice && !notice.hasAttribute("role")) notice.setAttribute("role", "status");
    var markers = {};  // feature id -> marker, so a refresh keeps unchanged markers (and open popups)
    var state = { timer: null, controller: null, fitted: element.dataset.fit !== "true", you: null };
    var geojsonUrl = element.dataset.geojsonUrl, cardUrl = element.dataset.cardUrl || "";

    function say(message) {
      if (!notice) return;
      notice.textContent = message || "";
      notice.hidden = !message;
    }

    // Replace the cluster's markers with the collection's, touching only those that changed.
    function show(collection) {
      var fresh = {}, added = [], removed = [];
      (collection.features || []).map(readHive).forEach(function (hive) {
        if (!hive || fresh[hive.id]) return;
        var old = markers[hive.id];
        fresh[hive.id] = old && old.signature === hive.signature ? old : hiveMarker(hive, cardUrl);
        if (fresh[hive.id] !== old) added.push(fresh[hive.id]);
      });
      Object.keys(markers).forEach(function (id) { if (fresh[id] !== markers[id]) removed.push(markers[id]); });
      markers = fresh;
      cluster.removeLayers(removed);
      cluster.addLayers(added);
      var count = toNumber(collection.numberReturned);
      say(collection.truncated ? text("map.truncated", { num: count === null ? added.length : count }) : "");
      if (!state.fitted) {
        state.fitted = true;
        if (Object.keys(markers).length) map.fitBounds(cluster.getBounds(), { maxZoom: 16, padding: [24, 24] });
      }
    }

    function load() {
      if (state.controller) state.controller.abort();
      var controller = state.controller = new AbortController();
      // Until the map has been fitted to the hives, ask for all of them (up to the cap), not just
      // those in the default view: the map cannot fit to hives it has not seen.
      var box = visibleBox(map);
      if (state.fitted && tooLarge(box, element)) { say(text("map.zoomIn")); return; }
      var url = state.fitted ? geojsonUrl + (geojsonUrl.indexOf("?") < 0 ? "?" : "&") + "bbox=" + box.join(",") : geojsonUrl;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" }, signal: controller.signal })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(show)
        .catch(function (error) { if (error.name !== "AbortError") say(text("map.failed")); });
    }

    function showPosition(latlng) {
      map.setView(latlng, 16);
      if (state.you) state.you.setLatLng(latlng);
      else state.you = L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 3, fillColor: "#1d4ed8", fillOpacity: 1 }).addTo(map);
    }

    map.addControl(locateControl({
      onClick: function (button) { locate(button, showPosition, function () { say(text("map.noLocation")); }); }
    }));
    map.on("moveend", function () {
      clearTimeout(state.timer);
      state.timer = setTimeout(load, 250);
    });
    map.on("unload", function () {
      clearTimeout(state.timer);
      if (state.controller) state.controller.abort();
    });
    load();
    if (element.dataset.swarmsUrl) addSwarmLayer(map, element.dataset.swarmsUrl).catch(function () {});  // city layer
  }

  // ---- data-map="point" ----

  function initPointMap(element) {
    var latlng = validLatLng(toNumber(element.dataset.lat), toNumber(element.dataset.lon));
    if (!latlng) return;
    var map = createMap(element, { scrollWheelZoom: false }).setView(latlng, 16);
    L.marker(latlng, { alt: element.getAttribute("aria-label") || text("map.hive"), keyboard: false }).addTo(map);
  }

  // ---- data-map="picker" and its "Use my location" button ----

  function findInputs(scope, selectors) {
    var parts = String(selectors || "").split(",");
    var lat = parts[0] && scope.querySelector(parts[0].trim());
    var lon = parts[1] && scope.querySelector(parts[1].trim());
    return lat && lon ? { lat: lat, lon: lon } : null;
  }

  function writeInputs(inputs, latlng) {
    inputs.lat.value = round6(latlng.lat, 90).toFixed(6);
    inputs.lon.value = round6(latlng.lng, 180).toFixed(6);
    [inputs.lat, inputs.lon].forEach(function (input) { fire(input, "input"); fire(input, "change"); });
  }

  function readInputs(inputs) {
    return validLatLng(toNumber(inputs.lat.value), toNumber(inputs.lon.value));
  }

  function initPicker(element) {
    var scope = element.closest("form") || document;
    var inputs = findInputs(scope, element.dataset.latInput + "," + element.dataset.lonInput);
    if (!inputs) return;
    var map = createMap(element, {});
    var marker = null, writing = false;

    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); return; }
      var label = element.dataset.markerLabel || text("map.hivePosition");
      marker = L.marker(latlng, { draggable: true, alt: label }).addTo(map);
      marker.on("dragend", function () { write(marker.getLatLng().wrap()); });
    }
    function write(latlng) {
      writing = true;  // our own change events must not re-centre the map
      try { writeInputs(inputs, latlng); } finally { writing = false; }
    }
    function onInputChange() {
      var latlng = readInputs(inputs);
      if (writing || !latlng) return;
      place(latlng);
      // No animation: Leaflet ignores a setView made while a zoom animation runs (lat, then lon).
      map.setView(latlng, Math.max(map.getZoom(), 16), { animate: false });
    }

    var start = readInputs(inputs);
    if (start) { map.setView(start, 16); place(start); }
    else map.setView(parseCenter(element.dataset.center), toNumber(element.dataset.zoom) || 12);
    map.on("click", function (event) {
      var latlng = event.latlng.wrap();
      place(latlng);
      write(latlng);
    });
    inputs.lat.addEventListener("change", onInputChange);
    inputs.lon.addEventListener("change", onInputChange);
    map.on("unload", function () {
      inputs.lat.removeEventListener("change", onInputChange);
      inputs.lon.removeEventListener("change", onInputChange);
    });
  }

  // Fills the inputs it names; a picker on the same inputs follows their change events.
  function initLocateButton(button) {
    if (button.cityhiveLocate || !navigator.geolocation) return;
    button.cityhiveLocate = true;
    button.hidden = false;
    button.addEventListener("click", function () {
      var scope = button.closest("form") || document;
      var inputs = findInputs(scope, button.dataset.locateInto);
      var error = scope.querySelector("[data-locate-error]");
      if (!inputs) return;
      locate(button, function (latlng) {
        if (error) error.textContent = "";
        button.removeAttribute("title");
        writeInputs(inputs, latlng);
      }, function () {
        if (error) { error.textContent = text("map.noLocation"); error.hidden = false; }
        else button.title = text("map.noLocation");
      });
    });
  }

  // ---- data-map="density" and data-map="swarms" (the city layer) ----
  //   data-map="density"  the public city map: colonies per hexagon, one GeoJSON for the city
  //   data-map="swarms"   a collector's open swarm reports within their radius
  // A hives map with data-swarms-url shows the collector's swarm reports as a layer of its own.

  function noticeNear(element) {
    var next = element.nextElementSibling;
    var notice = next && next.matches("[data-map-notice]") ? next : null;
    if (notice && !notice.hasAttribute("role")) notice.setAttribute("role", "status");
    return function (message) {
      if (!notice) return;
      notice.textContent = message || "";
      notice.hidden = !message;
    };
  }

  // The GeoJSON at `url`, or a rejection; the map's removal aborts the request.
  function fetchLayer(map, url) {
    var controller = new AbortController();
    map.on("unload", function () { controller.abort(); });
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" }, signal: controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  // A hexagon's band ("few", "3-5", ..., "21+") as a CSS class suffix; the colour is CSS's.
  // "few": colonies of too few beekeepers to say how many (the server never sends a count then).
  function densityBand(feature) {
    var band = String((feature && feature.properties && feature.properties.band) || "");
    return /^([0-9+-]+|few)$/.test(band) ? band.replace("+", "plus") : "unknown";
  }

  function densityLabel(feature) {
    var properties = (feature && feature.properties) || {};
    var count = toNumber(properties.count);
    if (count === null && properties.band === "few") return text("map.fewColonies");
    if (count !== null) return text("map.colonies", { num: count });
    return text("map.colonyRange", { range: String(properties.band || "?").replace("-", "–") });
  }

  function initDensityMap(element) {
    var map = createMap(element, {}).setView(parseCenter(element.dataset.center), toNumber(element.dataset.zoom) || 11);
    var say = noticeNear(element);
    fetchLayer(map, element.dataset.geojsonUrl)
      .then(function (collection) {
        var layer = L.geoJSON(collection, {
          style: function (feature) {
            return { className: "density-cell density--" + densityBand(feature), weight: 1, fillOpacity: 0.6 };
          },
          onEachFeature: function (feature, cell) {
            var label = document.createElement("span");
            label.textContent = densityLabel(feature);  // a node, never HTML
            cell.bindTooltip(label, { sticky: true });
          }
        }).addTo(map);
        if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [12, 12], maxZoom: 13 });
        else say(text("map.noColonies"));
      })
      .catch(function (error) { if (error.name !== "AbortError") say(text("map.densityFailed")); });
  }

  // 850 m, 3.2 km (3,2 km in German): as the server's |distance filter writes it.
  function away(metres) {
    if (metres < 1000) return number(metres, { maximumFractionDigits: 0 }) + " m";
    return number(metres / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " km";
  }

  function swarmPopup(feature) {
    var properties = (feature && feature.properties) || {};
    var content = document.createElement("div");
    content.className = "map-popup swarm-popup";
    var distance = toNumber(properties.distance_m);
    var what = document.createElement("p");
    what.textContent = distance === null ? text("map.swarm") : text("map.swarmAway", { distance: away(distance) });
    content.appendChild(what);
    var url = String(properties.url || "");
    if (/^\/swarms\/\d+$/.test(url)) {  // only our own report pages
      var link = document.createElement("a");
      link.href = url;
      link.textContent = text("map.openReport");
      content.appendChild(link);
    }
    return content;
  }

  // Open swarm reports as round markers on `map`; resolves to how many there were.
  function addSwarmLayer(map, url) {
    return fetchLayer(map, url).then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { radius: 10, className: "swarm-marker", weight: 3, fillOpacity: 0.9 });
        },
        onEachFeature: function (feature, marker) { marker.bindPopup(swarmPopup(feature), POPUP_CLEAR_OF_CONTROLS); }
      }).addTo(map);
      return layer.getLayers().length;
    });
  }

  function initSwarmsMap(element) {
    var map = createMap(element, {});
    var say = noticeNear(element);
    var base = validLatLng(toNumber(element.dataset.lat), toNumber(element.dataset.lon));
    var radius = toNumber(element.dataset.radius);
    if (base && radius) {
      map.fitBounds(base.toBounds(radius * 2));  // a view first: a circle is drawn in a view
      L.circle(base, { radius: radius, className: "swarm-radius", interactive: false }).addTo(map);
    } else {
      map.setView(parseCenter(element.dataset.center), toNumber(element.dataset.zoom) || 11);
    }
    addSwarmLayer(map, element.dataset.geojsonUrl)
      .then(function (count) { say(count ? "" : text("map.noSwarms")); })
      .catch(function (error) { if (error.name !== "AbortError") say(text("map.swarmsFailed")); });
  }

  // ---- wiring ----

  var INIT = { hives: initHivesMap, point: initPointMap, picker: initPicker, density: initDensityMap, swarms: initSwarmsMap };

  var LATER = { point: true };  // maps that are not what the page is for: started near the view
  var waiting = [];  // elements whose map waits for Leaflet or for the reader to scroll to it
  var watcher = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) return;
      watcher.unobserve(entry.target);
      start(entry.target);
    });
  }, { rootMargin: "200px" }) : null;

  function startNow(element) {
    var init = INIT[element.dataset.map];
    waiting = waiting.filter(function (other) { return other !== element; });
    if (!element.isConnected || live.some(function (entry) { return entry.element === element; })) return;
    try { init(element); } catch (error) { console.error("map: could not start", element, error); }
  }

  function start(element) {
    loadLeaflet(element).then(function () { startNow(element); }, function (error) {
      waiting = waiting.filter(function (other) { return other !== element; });
      console.warn("map:", error.message);  // offline and not yet cached: the page works without
    });
  }

  function initElement(element) {
    var init = INIT[element.dataset.map];
    if (!init || waiting.indexOf(element) >= 0 || live.some(function (entry) { return entry.element === element; })) return;
    waiting.push(element);
    if (LATER[element.dataset.map] && watcher && !window.L) watcher.observe(element);
    else start(element);
  }

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  htmx.onLoad(function (root) {
    // Maps removed for a history snapshot but still on the page (a partial swap) come back.
    suspended.splice(0).forEach(function (element) { if (element.isConnected) initElement(element); });
    within(root, "[data-map]").forEach(initElement);
    within(root, "[data-locate-into]").forEach(initLocateButton);
  });

  document.addEventListener("htmx:beforeHistorySave", function () {
    if (watcher) waiting.forEach(function (element) { watcher.unobserve(element); });
    waiting = [];
    live.splice(0).forEach(function (entry) { suspended.push(entry.element); removeMap(entry); });
  });

  // Content swapped away takes its maps with it.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    live = live.filter(function (entry) {
      if (entry.element !== event.target) return true;
      removeMap(entry);
      return false;
    });
  });
})();
