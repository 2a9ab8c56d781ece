-- wrk script: POST the contract's `Me` query with the bearer token in $MIRAGE_TOKEN.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MIRAGE_TOKEN")
wrk.body = '{"query":"query Me { me { id email displayName role organization { id name } teams { id name } } }"}'

done = function(summary, latency, requests)
  io.write(string.format("me: %.0f requests/s, p50 %.2f ms, p99 %.2f ms, errors %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
