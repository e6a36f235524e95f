package isrredis

import (
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/bsm/redislock"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// Defaults of [Options].
const (
	DefaultPrefix        = "isr"
	DefaultProbeInterval = time.Second
	DefaultFenceTTL      = time.Hour
	// seqTTL is how long the event counter outlives the last event. When it
	// expires the counter restarts, which listeners see as a gap.
	seqTTL = 30 * 24 * time.Hour
)

// Options configure a [Backend]. A nil *Options means all defaults.
type Options struct {
	// Prefix namespaces every Redis key and the event channel, so that
	// several caches (or origin builds) can share one Redis. Empty means
	// DefaultPrefix ("isr").
	Prefix string
	// ProbeInterval is how often Listen checks that events are delivered:
	// it polls the event counter and publishes a probe message. Zero or
	// less means DefaultProbeInterval (1s).
	ProbeInterval time.Duration
	// FenceTTL is the least time a page's hash (and so its fence
	// counters) is kept after Token or a delete, so that a render's
	// token, and a delete's refusal of older writes, outlive the render.
	// Zero or less means DefaultFenceTTL (1h).
	FenceTTL time.Duration
	// Mode is how Redis is deployed, as Connect returned it. In cluster
	// and sentinel modes, an invalidation waits until a replica of its
	// Redis primary acknowledged it (see Invalidate). ModeDetect is taken
	// as ModeSingle.
	Mode Mode
	// Shards is the number of event shards (see DefaultClusterShards):
	// every replica sharing a prefix must use the same. Zero or less means
	// DefaultClusterShards in cluster mode and 1 otherwise.
	Shards int
	// Replica is the name under which Listen registers this replica in
	// the live set and acknowledges confirmations (see Confirm): unique in
	// the cluster, such as the pod name. Empty means a random name.
	Replica string
	// ReplicaTTL is how long a replica stays in the live set after its
	// last heartbeat (one per ProbeInterval, and one per attempt to
	// subscribe, which may take up to three intervals). Zero or less
	// means five probe intervals.
	ReplicaTTL time.Duration
	// OnApply, if set, receives the publish-to-apply latency of the event
	// channel, measured at every delivery probe: from publishing the
	// probe to receiving it, on this replica's clock. It is called from
	// the Listen goroutine and must be fast.
	OnApply func(time.Duration)
}

//go:embed lua/get.lua
var getLua string

//go:embed lua/token.lua
var tokenLua string

//go:embed lua/put.lua
var putLua string

//go:embed lua/locktoken.lua
var lockTokenLua string

//go:embed lua/invalidate.lua
var invalidateLua string

//go:embed lua/tag.lua
var tagLua string

// Backend is the Redis implementation of [isr.Backend]. It is safe for
// concurrent use. The zero value is not usable; use [New].
type Backend struct {
	client        redis.UniversalClient
	locks         *redislock.Client
	prefix        string
	mode          Mode
	shards        int
	probeInterval time.Duration
	fenceTTL      time.Duration

	name       string
	replicaTTL time.Duration
	onApply    func(time.Duration)

	get, token, put, invalidate, tag *redis.Script
	lockToken                        *redis.Script
	heartbeatScript, replicasScript  *redis.Script
	acks                             ackWaits // Confirm calls waiting

	orphans  orphanSet   // locks to release when Redis answers again
	sweeping atomic.Bool // an orphan sweep runs

	messages      atomic.Uint64
	malformed     atomic.Uint64
	resets        atomic.Uint64
	probeFailures atomic.Uint64
	unreplicated  atomic.Uint64
}

var _ isr.Backend = (*Backend)(nil)

// New returns a Backend on client. opts may be nil (all defaults). It makes
// no Redis call and starts no goroutine; the caller keeps ownership of the
// client and closes it after the last use of the Backend.
func New(client redis.UniversalClient, opts *Options) *Backend {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.FenceTTL <= 0 {
		o.FenceTTL = DefaultFenceTTL
	}
	if o.ReplicaTTL <= 0 {
		o.ReplicaTTL = 5 * o.ProbeInterval
	}
	if o.Shards <= 0 {
		o.Shards = 1
		if o.Mode == ModeCluster {
			o.Shards = DefaultClusterShards
		}
	}
	if o.Replica == "" {
		var id [6]byte
		_, _ = rand.Read(id[:])
		o.Replica = hex.EncodeToString(id[:])
	}
	return &Backend{
		client:        client,
		locks:         redislock.New(client),
		prefix:        o.Prefix,
		mode:          o.Mode,
		shards:        o.Shards,
		probeInterval: o.ProbeInterval,
		fenceTTL:      o.FenceTTL,
		name:          o.Replica,
		replicaTTL:    o.ReplicaTTL,
		onApply:       o.OnApply,
		get:           redis.NewScript(getLua),
		token:         redis.NewScript(tokenLua),
		put:           redis.NewScript(putLua),
		invalidate:    redis.NewScript(invalidateLua),
		tag:           redis.NewScript(tagLua),
		lockToken:     redis.NewScript(lockTokenLua),

		heartbeatScript: redis.NewScript(heartbeatLua),
		replicasScript:  redis.NewScript(replicasLua),
	}
}

// Stats counts what the backend's listeners saw since New.
type Stats struct {
	// Messages is the number of events delivered to Listen callbacks,
	// Resets excluded.
	Messages uint64
	// Malformed is the number of messages on the channel that could not
	// be parsed; they are dropped.
	Malformed uint64
	// Resets is the number of Reset events delivered.
	Resets uint64
	// ProbeFailures is the number of times the delivery probe found the
	// subscription silent and recreated it.
	ProbeFailures uint64
	// Unreplicated is the number of invalidations (in cluster and
	// sentinel modes) that no replica acknowledged within AckTimeout.
	Unreplicated uint64
}

// Stats returns the backend's counters.
func (b *Backend) Stats() Stats {
	return Stats{
		Messages:      b.messages.Load(),
		Malformed:     b.malformed.Load(),
		Resets:        b.resets.Load(),
		ProbeFailures: b.probeFailures.Load(),
		Unreplicated:  b.unreplicated.Load(),
	}
}

// keyHash is the hash tag of a page: hex of the first 16 bytes of
// SHA-256(key).
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// slotKey is the Redis key of kind ("p" page, "l" lock, "v" variant
// index) for key: <prefix>:<kind>:{<shard>}<hash of the base page>, and for
// a variant ":<hash of the variant>" after it. A page's variants carry the
// page's shard tag, so that one script acts on a page and all its variants
// (and Redis Cluster keeps them together), next to the shard's event
// counter.
func (b *Backend) slotKey(kind, key string) string {
	base := isr.BaseKey(key)
	k := b.prefix + ":" + kind + ":" + tag(b.shardOf(key)) + keyHash(base)
	if kind != "v" && isr.IsVariant(key) {
		k += ":" + keyHash(key)
	}
	return k
}

func (b *Backend) pageKey(key string) string { return b.slotKey("p", key) }

// PageKey returns the Redis key of the hash that holds key's page, for
// operators (redis-cli HGETALL) and tests (CLUSTER KEYSLOT).
func (b *Backend) PageKey(key string) string { return b.pageKey(key) }
func (b *Backend) lockKey(key string) string { return b.slotKey("l", key) }
func (b *Backend) failKey(key string) string { return b.slotKey("f", key) }

// variantsKey is the variant index of key's page: a hash from each
// variant's page hash to its key.
func (b *Backend) variantsKey(key string) string { return b.slotKey("v", key) }

// tagKey is the set of the keys stored with tag, in the tag's own slot.
func (b *Backend) tagKey(tag string) string { return b.prefix + ":t:{" + tag + "}" }
func (b *Backend) channel() string          { return b.prefix + ":events" }

// ms converts d to whole milliseconds, rounding up so that a positive
// duration never becomes zero.
func ms(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
