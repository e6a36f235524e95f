package isrredis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// invalidateBatch is how many keys one Invalidate pipeline carries.
const invalidateBatch = 128

// Get returns the entry stored under key, with Age and Fresh computed from
// Redis's clock, or isr.ErrNotFound: wrapped in an *isr.FailedError while
// the key's render failure backs off (see Fail), which costs a miss one
// more round trip.
func (b *Backend) Get(ctx context.Context, key string) (*isr.Entry, error) {
	res, err := b.get.Run(ctx, b.client, []string{b.pageKey(key), b.failKey(key)}).Slice()
	if errors.Is(err, redis.Nil) {
		return nil, isr.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("isrredis: get %q: %w", key, err)
	}
	if left, ok := res[0].(int64); ok && len(res) == 1 { // the failure marker, in the same call
		return nil, fmt.Errorf("isrredis: get %q: %w", key, &isr.FailedError{RetryAfter: time.Duration(left) * time.Millisecond})
	}
	e, err := decodeEntry(res)
	if err != nil {
		return nil, fmt.Errorf("isrredis: get %q: %w", key, err)
	}
	if e.Page.Key != key {
		// A hash collision of two keys: the page is not ours.
		return nil, isr.ErrNotFound
	}
	return e, nil
}

// Fail records that rendering key failed, for d: a key of its own
// (<prefix>:f:{<hash of key>}, in the page's slot) that expires after d.
func (b *Backend) Fail(ctx context.Context, key string, d time.Duration) error {
	if d < time.Millisecond {
		return fmt.Errorf("isrredis: fail %q: backoff %v is under 1ms", key, d)
	}
	if err := b.client.Set(ctx, b.failKey(key), "1", d).Err(); err != nil {
		return fmt.Errorf("isrredis: fail %q: %w", key, err)
	}
	return nil
}

// decodeEntry decodes get.lua's reply: {now_ms, status, key, gen, hdr, body,
// tags, rev_ms, written_ms, fresh_until_ms, enc}.
func decodeEntry(res []any) (*isr.Entry, error) {
	if len(res) != 11 {
		return nil, fmt.Errorf("unexpected reply of %d values", len(res))
	}
	now, ok := res[0].(int64)
	if !ok {
		return nil, fmt.Errorf("unexpected clock %T", res[0])
	}
	s := make([]string, len(res))
	for i := 1; i < len(res); i++ {
		s[i], _ = res[i].(string)
	}
	var ints [5]int64
	for i, j := range []int{1, 3, 7, 8, 9} {
		n, err := strconv.ParseInt(s[j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("corrupt page field %d: %w", j, err)
		}
		ints[i] = n
	}
	status, gen, rev, written, freshUntil := ints[0], ints[1], ints[2], ints[3], ints[4]
	if !isr.ValidEncoding(s[10]) {
		return nil, fmt.Errorf("corrupt page encoding %.16q", s[10])
	}
	p := &isr.Page{Key: s[2], Status: int(status), Body: []byte(s[5]), Encoding: s[10], Gen: gen}
	hdr, err := decodeHeader(s[4])
	if err != nil {
		return nil, fmt.Errorf("corrupt page header: %w", err)
	}
	if len(hdr) > 0 {
		p.Header = hdr
	}
	if err := json.Unmarshal([]byte(s[6]), &p.Tags); err != nil {
		return nil, fmt.Errorf("corrupt page tags: %w", err)
	}
	if rev < 0 {
		p.Revalidate = isr.Never
	} else {
		p.Revalidate = time.Duration(rev) * time.Millisecond
	}
	e := &isr.Entry{Page: p, Age: time.Duration(max(now-written, 0)) * time.Millisecond}
	switch {
	case freshUntil < 0:
		e.Fresh = isr.Forever
	case freshUntil > 0:
		e.Fresh = time.Duration(freshUntil-now) * time.Millisecond
	}
	return e, nil
}

// Token issues a fencing token for key: one more than any issued before, as
// long as the key's hash lives. It extends the hash's expiry to at least
// FenceTTL, so that the counter outlives the render the token is for; a
// stored page thus outlives its hard expiry when a regeneration fails (its
// next Put sets the expiry again). On a key with no page it creates a hash
// holding only the counter.
func (b *Backend) Token(ctx context.Context, key string) (int64, error) {
	n, err := b.token.Run(ctx, b.client, []string{b.pageKey(key)}, ms(b.fenceTTL)).Int64()
	if err != nil {
		return 0, fmt.Errorf("isrredis: token %q: %w", key, err)
	}
	return n, nil
}

// Put stores p under key with the fencing token for ttl, and publishes the
// write, in one script on the page's slot. Before, it adds key to the set
// of each of the page's tags (each in its tag's slot); if that fails, the
// page is not written, so a tag's set never misses a stored page. It returns isr.ErrFenced (unwrapped) if the token is
// not newer than the stored page's or predates a delete; fresh is false if
// the token predates an on-demand revalidation (the page is stored stale).
// ttl must be at least a millisecond; p.Revalidate is isr.Never or >= 0.
func (b *Backend) Put(ctx context.Context, key string, token int64, p *isr.Page, ttl time.Duration) (bool, error) {
	if p == nil {
		return false, fmt.Errorf("isrredis: put %q: nil page", key)
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("isrredis: put %q: ttl %v is under 1ms", key, ttl)
	}
	rev := int64(-1)
	if p.Revalidate != isr.Never {
		if p.Revalidate < 0 {
			return false, fmt.Errorf("isrredis: put %q: negative revalidate %v", key, p.Revalidate)
		}
		rev = ms(p.Revalidate)
	}
	hdr := encodeHeader(p.Header)
	tags := make([]string, 0, len(p.Tags))
	for _, t := range p.Tags {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return false, fmt.Errorf("isrredis: put %q: tags: %w", key, err)
	}
	if err := b.addTags(ctx, key, tags, ttl); err != nil {
		return false, fmt.Errorf("isrredis: put %q: %w", key, err)
	}
	shard := b.shardOf(key)
	keys := []string{b.pageKey(key), b.seqKey(shard), b.variantsKey(key)}
	vmax := 0
	if isr.IsVariant(key) {
		vmax = isr.MaxVariants
	}
	res, err := b.put.Run(ctx, b.client, keys,
		strconv.FormatInt(token, 10), key, p.Status, hdr, p.Body, tagsJSON,
		rev, ms(ttl), b.channel(), ms(seqTTL), vmax, shard, p.Encoding).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("isrredis: put %q: %w", key, err)
	}
	if len(res) != 2 {
		return false, fmt.Errorf("isrredis: put %q: unexpected reply %v", key, res)
	}
	switch res[0] {
	case 0:
		return false, isr.ErrFenced
	case 1:
		return true, nil
	case 3:
		return false, isr.ErrTooManyVariants
	default:
		return false, nil
	}
}

// Invalidate marks the pages under keys stale (isr.ModeEager, isr.ModeStale)
// or deletes them (isr.ModeDelete), one script per key, pipelined per Redis
// primary. Each change is published. In cluster and sentinel modes it then
// waits, for at most AckTimeout, until a replica of the primary has the
// changes (WAIT 1): a failover that promotes that replica keeps them. When
// none acknowledges in time it returns anyway, counted in
// Stats.Unreplicated: such a change is lost if the primary fails before
// its replica catches up (Redis replicates asynchronously). found[i] reports whether a page was stored under
// keys[i]; on error, found holds the keys done so far.
func (b *Backend) Invalidate(ctx context.Context, mode isr.Mode, keys ...string) ([]bool, error) {
	var op string
	switch mode {
	case isr.ModeEager, isr.ModeStale:
		op = "s"
	case isr.ModeDelete:
		op = "d"
	default:
		return nil, fmt.Errorf("isrredis: invalidate: unknown mode %d", mode)
	}
	found := make([]bool, len(keys))
	for start := 0; start < len(keys); start += invalidateBatch {
		batch := keys[start:min(start+invalidateBatch, len(keys))]
		if err := b.invalidateBatch(ctx, op, batch, found[start:]); err != nil {
			return found, err
		}
	}
	return found, nil
}

func (b *Backend) invalidateBatch(ctx context.Context, op string, keys []string, found []bool) error {
	args := func(key string) ([]string, []any) {
		page := "1"
		if isr.IsVariant(key) {
			page = "0"
		}
		shard := b.shardOf(key)
		return []string{b.pageKey(key), b.seqKey(shard), b.variantsKey(key)},
			[]any{op, key, b.channel(), ms(b.fenceTTL), ms(seqTTL), page, shard}
	}
	for _, nb := range b.batches(ctx, keys) {
		pipe := nb.node.Pipeline()
		cmds := make([]*redis.Cmd, len(nb.idx))
		for j, i := range nb.idx {
			k, a := args(keys[i])
			cmds[j] = b.invalidate.EvalSha(ctx, pipe, k, a...)
		}
		wait := b.waitReplica(ctx, pipe)
		_, _ = pipe.Exec(ctx) // errors are read per command
		for j, cmd := range cmds {
			i := nb.idx[j]
			if redirected(cmd.Err()) {
				// Nothing ran: run it again, through the cluster's
				// redirections if the slot moved.
				k, a := args(keys[i])
				cmd = b.invalidate.Run(ctx, b.client, k, a...)
				b.unreplicated.Add(1) // not covered by the WAIT
			}
			n, err := cmd.Int64()
			if err != nil {
				return fmt.Errorf("isrredis: invalidate %q: %w", keys[i], err)
			}
			found[i] = n == 1
		}
		if wait != nil {
			if n, err := wait.Int64(); err != nil || n < 1 {
				b.unreplicated.Add(uint64(len(nb.idx)))
			}
		}
	}
	return nil
}

// Variants lists the variants stored for each of keys, in one pipeline.
// See [isr.Store.Variants].
func (b *Backend) Variants(ctx context.Context, keys ...string) ([][]string, error) {
	out := make([][]string, len(keys))
	pipe := b.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(keys))
	for i, key := range keys {
		if !isr.IsVariant(key) {
			cmds[i] = pipe.HVals(ctx, b.variantsKey(key))
		}
	}
	if pipe.Len() == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("isrredis: variants: %w", err)
	}
	for i, cmd := range cmds {
		if cmd != nil {
			out[i] = cmd.Val()
		}
	}
	return out, nil
}

// addTags adds key to the set of each tag, for at least ttl, pipelined
// (one round trip per node).
func (b *Backend) addTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if len(tags) == 0 {
		return nil
	}
	pipe := b.client.Pipeline()
	cmds := make([]*redis.Cmd, len(tags))
	for i, t := range tags {
		cmds[i] = b.tag.EvalSha(ctx, pipe, []string{b.tagKey(t)}, key, ms(ttl))
	}
	_, _ = pipe.Exec(ctx) // errors are read per command
	for i, cmd := range cmds {
		err := cmd.Err()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			err = b.tag.Run(ctx, b.client, []string{b.tagKey(tags[i])}, key, ms(ttl)).Err()
		}
		if err != nil {
			return fmt.Errorf("tag %q: %w", tags[i], err)
		}
	}
	return nil
}

// TagKeys returns the keys of the pages stored with tag, sorted. It may
// return keys whose pages expired or were deleted since.
func (b *Backend) TagKeys(ctx context.Context, tag string) ([]string, error) {
	keys, err := b.client.SMembers(ctx, b.tagKey(tag)).Result()
	if err != nil {
		return nil, fmt.Errorf("isrredis: tag %q: %w", tag, err)
	}
	slices.Sort(keys)
	return keys, nil
}
