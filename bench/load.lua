-- CityHive's traffic for wrk: `bench/load.py` runs it, `make load` runs that.
--
-- Each request is drawn by weight from MIX: public pages (the city's density layer and
-- statistics, the swarm report form), a signed-in beekeeper's pages (Today, a hive page with its
-- sensor charts), htmx fragments, the hive map's GeoJSON, API reads, and writes: hives through
-- the API and the form, and batches of sensor readings. The beekeeper's session cookie, CSRF
-- token and API key, their hive ids, sensor ids and map box come from the environment
-- (CITYHIVE_COOKIE, CITYHIVE_CSRF, CITYHIVE_KEY, CITYHIVE_HIVES, CITYHIVE_SENSOR_HIVES,
-- CITYHIVE_SENSORS as id:kind pairs, CITYHIVE_BBOX), and CITYHIVE_RUN numbers the run, so that
-- the readings of two runs never share an instant.
--
-- At the end it prints one line, `CITYHIVE-LOAD {json}`: the requests sent of each kind, the
-- answers by status, the readings the answers said were stored, wrk's socket errors and the
-- latency percentiles.

local cookie = os.getenv("CITYHIVE_COOKIE")
local csrf = os.getenv("CITYHIVE_CSRF")
local key = os.getenv("CITYHIVE_KEY")
local bbox = os.getenv("CITYHIVE_BBOX")
local hives = {}
for id in string.gmatch(os.getenv("CITYHIVE_HIVES") or "", "%d+") do
  hives[#hives + 1] = id
end
local sensor_hives = {}
for id in string.gmatch(os.getenv("CITYHIVE_SENSOR_HIVES") or "", "%d+") do
  sensor_hives[#sensor_hives + 1] = id
end
local sensors = {}
for id, kind in string.gmatch(os.getenv("CITYHIVE_SENSORS") or "", "(%d+):(%a+)") do
  sensors[#sensors + 1] = { id = id, kind = kind }
end
local run_number = tonumber(os.getenv("CITYHIVE_RUN") or "1")
assert(cookie and csrf and key and bbox and #hives > 0 and #sensors > 0 and #sensor_hives > 0,
  "bench/load.py sets CITYHIVE_*")

local signed_in = { Cookie = cookie }
local fragment = { Cookie = cookie, ["HX-Request"] = "true" }
local api = { Authorization = "Bearer " .. key }
local api_write = { Authorization = "Bearer " .. key, ["Content-Type"] = "application/json" }
local form_post = {
  Cookie = cookie,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

-- Globals of each thread: thread_number (set by setup(), so the names of new hives and the
-- instants of readings differ between threads), and sent, statuses and readings_stored
-- (counted here, read by done()).
thread_number = 0
local written = 0
local batches = 0
local started = os.time()
local READINGS_PER_BATCH = 20

local function a_hive()
  return hives[math.random(#hives)]
end

local function new_name()
  written = written + 1
  return string.format("Load %d-%d", thread_number, written)
end

local function a_point()
  return 52.45 + math.random() * 0.13, 13.25 + math.random() * 0.30
end

local function a_sensor_hive()
  return sensor_hives[math.random(#sensor_hives)]
end

-- A batch of readings as a gateway sends them: one per sensor, in turn, each at an instant no
-- other request uses (the run, the thread and the reading in the microseconds; the batch in the
-- seconds, counted back from the thread's start), so every reading acknowledged is a new row.
local function a_batch()
  batches = batches + 1
  local second = os.date("!%Y-%m-%dT%H:%M:%S", started - 60 - batches)
  local items = {}
  for i = 1, READINGS_PER_BATCH do
    local sensor = sensors[(batches * READINGS_PER_BATCH + i) % #sensors + 1]
    local value = sensor.kind == "weight" and 30 + math.random() * 20 or 33 + math.random() * 3
    local micro = (run_number * 1000 + thread_number) * 100 + i
    items[i] = string.format('{"sensor_id": %s, "recorded_at": "%s.%06dZ", "value": %.2f}',
      sensor.id, second, micro, value)
  end
  return '{"readings": [' .. table.concat(items, ", ") .. ']}'
end

MIX = {
  { kind = "home page, anonymous", weight = 12, build = function()
    return wrk.format("GET", "/")
  end },
  { kind = "log-in page, anonymous", weight = 4, build = function()
    return wrk.format("GET", "/login")
  end },
  { kind = "readiness check", weight = 2, build = function()
    return wrk.format("GET", "/health/ready")
  end },
  { kind = "city density layer (GeoJSON), anonymous", weight = 10, build = function()
    return wrk.format("GET", "/city/density.geojson")
  end },
  { kind = "city statistics page, anonymous", weight = 3, build = function()
    return wrk.format("GET", "/city/stats")
  end },
  { kind = "swarm report page, anonymous", weight = 3, build = function()
    return wrk.format("GET", "/swarms/report")
  end },
  { kind = "Today (home page, signed in)", weight = 8, build = function()
    return wrk.format("GET", "/", signed_in)
  end },
  { kind = "Today fragment (htmx)", weight = 4, build = function()
    return wrk.format("GET", "/", fragment)
  end },
  { kind = "hive page with sensor charts", weight = 4, build = function()
    return wrk.format("GET", "/hives/" .. a_sensor_hive(), signed_in)
  end },
  { kind = "sensor chart fragment (htmx)", weight = 3, build = function()
    return wrk.format("GET", "/hives/" .. a_sensor_hive() .. "/charts?range=week", fragment)
  end },
  { kind = "API: a batch of sensor readings", weight = 8, build = function()
    return wrk.format("POST", "/api/v1/readings", api_write, a_batch())
  end },
  { kind = "hive list page", weight = 8, build = function()
    return wrk.format("GET", "/hives", signed_in)
  end },
  { kind = "hive list fragment (htmx)", weight = 10, build = function()
    return wrk.format("GET", "/hives?sort=-installed&page=2", fragment)
  end },
  { kind = "hive page", weight = 6, build = function()
    return wrk.format("GET", "/hives/" .. a_hive(), signed_in)
  end },
  { kind = "map popup card fragment (htmx)", weight = 10, build = function()
    return wrk.format("GET", "/hives/" .. a_hive() .. "/card", fragment)
  end },
  { kind = "map page", weight = 4, build = function()
    return wrk.format("GET", "/map", signed_in)
  end },
  { kind = "hive map GeoJSON", weight = 14, build = function()
    return wrk.format("GET", "/hives.geojson?bbox=" .. bbox, signed_in)
  end },
  { kind = "API: list hives", weight = 8, build = function()
    return wrk.format("GET", "/api/v1/hives?page=2", api)
  end },
  { kind = "API: read a hive", weight = 6, build = function()
    return wrk.format("GET", "/api/v1/hives/" .. a_hive(), api)
  end },
  { kind = "API: create a hive", weight = 5, build = function()
    local lat, lon = a_point()
    local body = string.format(
      '{"name": "%s", "latitude": %.6f, "longitude": %.6f, "frame_type": "dadant"}',
      new_name(), lat, lon)
    return wrk.format("POST", "/api/v1/hives", api_write, body)
  end },
  { kind = "form: add a hive", weight = 3, build = function()
    local lat, lon = a_point()
    local body = string.format(
      "name=%s&latitude=%.6f&longitude=%.6f&frame_type=national&_csrf=%s",
      string.gsub(new_name(), " ", "+"), lat, lon, csrf)
    return wrk.format("POST", "/hives", form_post, body)
  end },
}

local total_weight = 0
for _, entry in ipairs(MIX) do
  total_weight = total_weight + entry.weight
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function init(args)
  math.randomseed(os.time() + thread_number * 7919)
  sent = {}
  statuses = {}
  readings_stored = 0
end

function request()
  local pick = math.random() * total_weight
  for _, entry in ipairs(MIX) do
    pick = pick - entry.weight
    if pick <= 0 then
      sent[entry.kind] = (sent[entry.kind] or 0) + 1
      return entry.build()
    end
  end
  sent[MIX[1].kind] = (sent[MIX[1].kind] or 0) + 1
  return MIX[1].build()
end

function response(status, headers, body)
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
  if status == 200 and body and string.sub(body, 1, 9) == '{"batch":' then
    readings_stored = readings_stored + tonumber(string.match(body, '"stored": ?(%d+)') or "0")
  end
end

local function add_into(total, counts)
  for name, count in pairs(counts) do
    total[name] = (total[name] or 0) + count
  end
end

local function json_counts(counts)
  local parts = {}
  for name, count in pairs(counts) do
    parts[#parts + 1] = string.format("%q: %d", name, count)
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all_sent, all_statuses, all_readings = {}, {}, 0
  for _, thread in ipairs(threads) do
    add_into(all_sent, thread:get("sent"))
    add_into(all_statuses, thread:get("statuses"))
    all_readings = all_readings + thread:get("readings_stored")
  end
  local errors = summary.errors
  io.write(string.format(
    'CITYHIVE-LOAD {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"statuses": %s, "sent": %s, "readings_stored": %d}\n',
    summary.duration, summary.requests, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, errors.connect, errors.read, errors.write, errors.timeout,
    json_counts(all_statuses), json_counts(all_sent), all_readings))
end
