package isrredis

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// Shards: on Redis Cluster no script may touch keys of two hash slots, so
// what a write changes besides its page (the event counter) must live in
// the page's slot. Pages are spread over Shards event shards; the hash tag
// of every key of a page (its hash, lock, variant index) is its shard's,
// "{<n>}", as is the shard's event counter <prefix>:seq:{<n>}. Each Put and
// Invalidate thus runs in one slot, and events are numbered per shard:
// listeners detect a lost event by a gap in its shard's numbers.

// DefaultClusterShards is the number of event shards in cluster mode: the
// pages spread over this many hash slots (and so over up to this many
// masters), and every listener polls this many counters per probe
// interval.
const DefaultClusterShards = 256

// shardOf returns the event shard of key: that of its base page, so that a
// page and its variants share a slot.
func (b *Backend) shardOf(key string) uint32 {
	if b.shards == 1 {
		return 0
	}
	h := keyHash(isr.BaseKey(key))
	raw := make([]byte, 4)
	for i := range raw {
		raw[i] = hexByte(h[2*i])<<4 | hexByte(h[2*i+1])
	}
	return binary.BigEndian.Uint32(raw) % uint32(b.shards)
}

func hexByte(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

// tag is the hash tag of shard: "{<n>}".
func tag(shard uint32) string { return "{" + strconv.FormatUint(uint64(shard), 10) + "}" }

// seqKey is the event counter of shard.
func (b *Backend) seqKey(shard uint32) string { return b.prefix + ":seq:" + tag(shard) }

// readSeqs reads every shard's event counter, pipelined (one round trip
// per node); a missing counter is 0.
func (b *Backend) readSeqs(ctx context.Context) ([]uint64, error) {
	pipe := b.client.Pipeline()
	cmds := make([]*redis.StringCmd, b.shards)
	for i := range cmds {
		cmds[i] = pipe.Get(ctx, b.seqKey(uint32(i)))
	}
	_, _ = pipe.Exec(ctx) // errors are read per command
	out := make([]uint64, b.shards)
	for i, cmd := range cmds {
		s, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out[i], err = strconv.ParseUint(s, 10, 64); err != nil {
			return nil, err
		}
	}
	return out, nil
}
