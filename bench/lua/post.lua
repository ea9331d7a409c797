-- wrk script: POST the JSON body given after "--" and print one machine-readable summary line.
--
--   wrk -t1 -c16 -d5s -s bench/lua/post.lua http://127.0.0.1:PORT/noop/run -- '{"text":"hi"}'
--
-- Without an argument it sends plain GET requests (used for warm-up of GET routes).

function init(args)
   if args[1] ~= nil then
      wrk.method = "POST"
      wrk.body = args[1]
      wrk.headers["Content-Type"] = "application/json"
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
      "\"err_connect\":%d,\"err_read\":%d,\"err_write\":%d,\"err_status\":%d,\"err_timeout\":%d," ..
      "\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"mean_us\":%.1f,\"max_us\":%d}\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
