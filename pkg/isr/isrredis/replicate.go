package isrredis

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// AckTimeout is how long an invalidation waits, in cluster and sentinel
// modes, for a replica of its Redis primary to acknowledge it (WAIT 1).
const AckTimeout = 100 * time.Millisecond

// A nodeBatch is the keys of an invalidation served by one primary.
type nodeBatch struct {
	node redis.Cmdable // the primary's client, or the backend's own
	idx  []int         // indexes of the keys, in order
}

// batches groups keys by the primary that serves them. Outside a cluster
// there is one batch, on the backend's client. A key whose primary cannot
// be looked up goes to the cluster client, which finds it.
func (b *Backend) batches(ctx context.Context, keys []string) []nodeBatch {
	cc, ok := b.client.(*redis.ClusterClient)
	if !ok {
		all := make([]int, len(keys))
		for i := range all {
			all[i] = i
		}
		return []nodeBatch{{node: b.client, idx: all}}
	}
	var out []nodeBatch
	at := map[string]int{}
	for i, key := range keys {
		var node redis.Cmdable = cc
		name := ""
		if n, err := cc.MasterForKey(ctx, b.pageKey(key)); err == nil {
			node, name = n, n.Options().Addr
		}
		j, seen := at[name]
		if !seen {
			j = len(out)
			at[name] = j
			out = append(out, nodeBatch{node: node})
		}
		out[j].idx = append(out[j].idx, i)
	}
	return out
}

// waitReplica queues WAIT 1 on pipe, after the writes it must cover, when
// the mode has replicas to wait for; else it returns nil.
func (b *Backend) waitReplica(ctx context.Context, pipe redis.Pipeliner) *redis.Cmd {
	if b.mode != ModeCluster && b.mode != ModeSentinel {
		return nil
	}
	return pipe.Do(ctx, "WAIT", 1, ms(AckTimeout))
}

// redirected reports whether err is a cluster redirection (the slot moved
// or is moving) or a flushed script cache: the command did not run, and
// runs again through the backend's client.
func redirected(err error) bool {
	return redis.HasErrorPrefix(err, "NOSCRIPT") || redis.HasErrorPrefix(err, "MOVED") ||
		redis.HasErrorPrefix(err, "ASK") || redis.HasErrorPrefix(err, "TRYAGAIN")
}
