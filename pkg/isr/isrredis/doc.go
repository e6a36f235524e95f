// Package isrredis is the Redis backend of the ISR engine: a page store with
// fenced writes, a lock (bsm/redislock) and an event bus (pub/sub), all in
// one [Backend] shared by every replica.
//
// # Data model
//
// Pages are spread over event shards (Options.Shards: 1 on one Redis or
// Sentinel, DefaultClusterShards on Redis Cluster). Each page lives in one
// hash, <prefix>:p:{<shard>}<hash of key>, holding the page, its
// generation, the fence counter, the revalidation floor ("floor") and the
// deletion floor ("min"). The body is stored once, in the coding the field
// "enc" names: "br" when the cache compressed it at write time, empty when
// it is as the origin sent it (see lua/get.lua); replicas of a version
// without "enc" would serve a compressed body as it is, so do not mix them
// with this one on one prefix. Its lock is <prefix>:l:{<shard>}<hash>, its
// variant index <prefix>:v:{<shard>}<hash>, and its shard's event counter
// <prefix>:seq:{<shard>}: the hash tag puts them in one slot, so every
// script touches one slot only. Tag sets are <prefix>:t:{<tag>}, each in
// its own slot, updated before the page is written (a failure leaves the
// page unwritten, never a page its tag does not list). A page's render
// failure marker is <prefix>:f:{<shard>}<hash> (see Fail). The event
// channel is <prefix>:events; the live replicas are <prefix>:replicas (a
// sorted set by expiry, see Confirm). Every key has a TTL. Freshness is decided by Redis's
// clock (TIME inside the scripts), never by a replica's. Each write and its
// event are published by one Lua script, so a stored page is always
// announced.
//
// Events are published with plain PUBLISH (on Redis Cluster the bus relays
// them to every node, so a listener subscribes on one node) as
// "<shard>:<seq> <kind> <gen> <key>", kind being w (written), s (stale) or
// d (deleted), seq counting the shard's events; "0 p <n> <id>" is a
// listener's delivery probe.
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
// # Modes
//
// [Connect] builds the client of one Redis, a Redis Cluster or a Sentinel
// group from a URL and checks it. The backend works the same on all three:
// no script touches two slots, a listener detects lost events per shard
// (a gap in a shard's numbers, or a shard's counter ahead of what was
// delivered or gone back after a failover, and flushes), and the
// regeneration [Budget] lives in one slot.
package isrredis
