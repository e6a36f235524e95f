// Package isrredis is the Redis backend of the ISR engine: a page store with
// fenced writes, a lock (bsm/redislock) and an event bus (pub/sub), all in
// one [Backend] shared by every replica.
//
// # Data model
//
// Each page lives in one hash, <prefix>:p:{<hash of key>}, holding the page,
// its generation, the fence counter, the revalidation floor ("floor") and the
// deletion floor ("min"). The hash tag keeps every key of a page in one slot.
// Tag sets are <prefix>:t:<tag>, locks <prefix>:l:{<hash of key>}, the event
// counter <prefix>:seq and the event channel <prefix>:events. Every key has a
// TTL. Freshness is decided by Redis's clock (TIME inside the scripts), never
// by a replica's. Each write and its event are published by one Lua script,
// so a stored page is always announced.
//
// Events are published as "<seq> <kind> <gen> <key>", kind being w
// (written), s (stale) or d (deleted); "0 p <n> <id>" is a listener's
// delivery probe.
//
// # Bounding Redis calls
//
// Every method takes a context and makes a bounded number of Redis calls,
// but the bound on each call comes from the client: go-redis's defaults can
// stall a caller for many seconds (MaxRetries 3, DialTimeout 5s, DialerRetries
// 5). Build the client with [ClientOptions], or set at least:
//
//   - DialTimeout 2s, ReadTimeout 1s, WriteTimeout 1s, PoolTimeout 2s;
//   - MaxRetries 1 (0 or 1 on the request path: Put and Invalidate are not
//     retried by this package, and a retried script may run twice);
//   - ContextTimeoutEnabled true, so a context deadline bounds each call;
//   - PoolSize explicitly, sized so that replicas × PoolSize stays well below
//     Redis's maxclients (the default is 10 per GOMAXPROCS).
//
// Listen holds one more connection per call for the subscription, and bounds
// its own probe calls by the probe interval.
//
// # Redis Cluster
//
// The per-page keys share a hash slot, but Put and Invalidate also update
// the global event counter and, for Put, the tag sets; on Redis Cluster those
// keys live in other slots. The backend is meant for a single Redis (with
// Sentinel for failover).
package isrredis
