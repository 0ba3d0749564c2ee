-- wrk script for `newsclass serve`: POST /v1/classify with request bodies read from a file of
-- JSON lines (one body per line, sent in turn), and a one-line JSON summary at the end.
--   BODIES=path/to/bodies.jsonl SENTENCES_PER_REQUEST=1 wrk -s load.lua http://ADDR

local bodies_path = os.getenv("BODIES")
local per_request = tonumber(os.getenv("SENTENCES_PER_REQUEST") or "1")
local requests = {}
local i = 0

function init(args)
  local f = assert(io.open(bodies_path, "r"))
  local headers = { ["Content-Type"] = "application/json" }
  for line in f:lines() do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", "/v1/classify", headers, line)
    end
  end
  f:close()
  assert(#requests > 0, "no request bodies in " .. bodies_path)
  -- Threads start at different places in the list.
  i = math.random(#requests) - 1
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"requests_per_s":%.1f,"sentences_per_s":%.1f,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, secs, summary.requests / secs, summary.requests * per_request / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
