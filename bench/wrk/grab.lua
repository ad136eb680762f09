-- The grab scenario for bench.hotpaths: each wrk thread (one connection) is one technician
-- that lists the pool (GET /api/v1/tech/pool?page_size=5), picks one listed id at random and
-- grabs it (POST /api/v1/tech/orders/<id>/grab); on 409 grab_limit_reached it moves to its next
-- technician token. The file named by $BENCH_TOKENS has one line per thread: comma-separated
-- tokens. Latency per kind is measured here with CLOCK_MONOTONIC (LuaJIT ffi), from request()
-- to response(); done() merges the threads' tables and prints one line "BENCHJSON {...}".
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

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
  thread:set("tokens", lines[((counter - 1) % #lines) + 1])
  thread:set("index", counter)
  threads[#threads + 1] = thread
end

local pool_path = "/api/v1/tech/pool?page_size=" .. (os.getenv("BENCH_PAGE_SIZE") or "5")
local token_list = {}
local ti = 1
local headers = {}
local kind = "pool"
local target = nil
local started = 0
pool_ms = {}
grab_ms = {}
counts = { grabbed = 0, order_taken = 0, grab_limit_reached = 0, pool_empty = 0,
           out_of_technicians = 0 }
other = {}

local function use_token()
  headers = { ["Authorization"] = "Bearer " .. token_list[ti] }
end

function init(args)
  for t in tokens:gmatch("[^,]+") do token_list[#token_list + 1] = t end
  math.randomseed(1000 + index)
  use_token()
end

function request()
  started = now_ms()
  if kind == "grab" then
    return wrk.format("POST", "/api/v1/tech/orders/" .. target .. "/grab", headers, "")
  end
  return wrk.format("GET", pool_path, headers)
end

local function bump(key)
  other[key] = (other[key] or 0) + 1
end

function response(status, hdrs, body)
  local ms = now_ms() - started
  if kind == "pool" then
    pool_ms[#pool_ms + 1] = ms
    if status ~= 200 then
      bump("pool " .. status)
      return
    end
    local ids = {}
    local items = body:match('"items"%s*:%s*(%b[])')
    if items then
      for obj in items:sub(2, -2):gmatch("%b{}") do
        -- the item's own "id", not one of a nested object
        local flat = obj:sub(2, -2):gsub("%b{}", ""):gsub("%b[]", "")
        local id = flat:match('"id"%s*:%s*(%d+)')
        if id then ids[#ids + 1] = id end
      end
    end
    if #ids == 0 then
      counts.pool_empty = counts.pool_empty + 1
      return
    end
    target = ids[math.random(#ids)]
    kind = "grab"
    return
  end
  grab_ms[#grab_ms + 1] = ms
  kind = "pool"
  if status == 200 then
    counts.grabbed = counts.grabbed + 1
  elseif status == 409 and body:find("grab_limit_reached", 1, true) then
    counts.grab_limit_reached = counts.grab_limit_reached + 1
    if ti < #token_list then
      ti = ti + 1
      use_token()
    else
      counts.out_of_technicians = counts.out_of_technicians + 1
    end
  elseif status == 409 and body:find("order_taken", 1, true) then
    counts.order_taken = counts.order_taken + 1
  else
    bump("grab " .. status)
  end
end

local function percentile(sorted, q)
  if #sorted == 0 then return -1 end
  local i = math.ceil(#sorted * q / 100)
  if i < 1 then i = 1 end
  return sorted[i]
end

function done(summary, latency, requests)
  local all_pool, all_grab, total, others = {}, {}, {}, {}
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("pool_ms") or {}) do all_pool[#all_pool + 1] = v end
    for _, v in ipairs(t:get("grab_ms") or {}) do all_grab[#all_grab + 1] = v end
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
    for k, v in pairs(t:get("other") or {}) do others[k] = (others[k] or 0) + v end
  end
  table.sort(all_pool)
  table.sort(all_grab)
  local c, o = {}, {}
  for k, v in pairs(total) do c[#c + 1] = string.format('"%s":%d', k, v) end
  for k, v in pairs(others) do o[#o + 1] = string.format('"%s":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"p50_ms":%.3f,"p99_ms":%.3f,"pool_n":%d,"grab_n":%d,' ..
    '"pool_p50_ms":%.3f,"pool_p99_ms":%.3f,"grab_p50_ms":%.3f,"grab_p99_ms":%.3f,' ..
    '"counts":{%s},"other":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, #all_pool, #all_grab,
    percentile(all_pool, 50), percentile(all_pool, 99),
    percentile(all_grab, 50), percentile(all_grab, 99),
    table.concat(c, ","), table.concat(o, ",")))
end
