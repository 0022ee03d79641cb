-- wrk script for scripts/bench_load.py. wrk's own report has no p95 and counts only 4xx/5xx as
-- errors, so a page that redirects to the login form would look fast: count every status instead.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, status .. ":" .. n)
  end
  local errors = summary.errors
  io.write(string.format(
    "bench: requests=%d duration_us=%d p50_us=%.0f p95_us=%.0f p99_us=%.0f socket_errors=%d timeouts=%d statuses=%s\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.connect + errors.read + errors.write, errors.timeout, table.concat(parts, ",")))
end
