// Package integration proves isrcache's cluster claims against real parts: a
// real redis-server (started by internal/redistest on a free loopback port),
// a real HTTP origin (a counting [isrtest.Origin] behind httptest), and
// several replicas, either in-process (isr.Handler + server.New + isrredis,
// each with its own Redis client) or child processes of the cmd/isrcache
// binary for the tests that need process signals.
//
// The package holds only tests; they run with plain `go test` (no build
// tag) and are named TestCluster* so that CI can tell they ran. They use
// 127.0.0.1 only, poll with eventually instead of sleeping, and assert
// counts and states, never timings.
//
// Harness, one file each:
//
//   - origin_test.go: the counting origin, with per-path holds and in-flight
//     counts;
//   - cluster_test.go: a Redis, an origin and an admin client per test;
//   - replica_test.go: in-process replicas;
//   - process_test.go: child-process replicas of the cmd/isrcache binary;
//   - killharness_test.go: SIGSTOP/SIGKILL of a replica holding a lock, and
//     the lock's keyspace events in Redis (expired or released);
//   - http_test.go: requests, revalidations and eventually;
//   - toxiharness_test.go: Toxiproxy's server run in the test process, one
//     TCP proxy per faulted link (latency, bandwidth, silent partition), and
//     the tally of a fault run's answers (errors, worst latency, states);
//   - paused_test.go's monitor: Redis's MONITOR stream, read over raw RESP;
//   - nextjs_harness_test.go: the example Next.js app (examples/nextjs:
//     npm ci and next build, cached by a hash of its sources, then next
//     start on a fresh copy of the build) and three replica processes in
//     front of it;
//   - nextjs_rsc_test.go: the requests Next's client sends (HTML, RSC,
//     prefetches) with the _rsc value it computes;
//   - nextjs_browser_test.go: a headless chromium driven by chromedp.
//
// nextjs_measure_test.go (build tag nextmeasure) is a measurement, not a
// test: Next renders per revalidation and HIT ratios of navigation traffic.
//
// [isrtest.Origin]: github.com/isrcache/isrcache/pkg/isr/isrtest
package integration
