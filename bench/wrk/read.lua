-- A read scenario for bench.hotpaths: each wrk thread (one connection) GETs its own path with
-- its own bearer token. The file named by $BENCH_TOKENS has one line per thread:
-- "<path>\t<token>" (token may be empty). done() prints one line "BENCHJSON {...}".
local threads = {}
local lines = {}
local counter = 0

function setup(thread)
  if #lines == 0 then
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
      if #line > 0 then lines[#lines + 1] = line end
    end
  end
  counter = counter + 1
  local line = lines[((counter - 1) % #lines) + 1]
  local path, token = line:match("^([^\t]*)\t?(.*)$")
  thread:set("path", path)
  thread:set("token", token or "")
  threads[#threads + 1] = thread
end

local req
statuses = {}

function init(args)
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  req = wrk.format("GET", path, headers)
end

function request()
  return req
end

function response(status, headers, body)
  local key = "s" .. status
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s":%d', k:sub(2), v) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"p50_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    table.concat(parts, ",")))
end
