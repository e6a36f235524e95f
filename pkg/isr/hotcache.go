package isr

import (
	"container/list"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// hotShards is the number of independently locked parts of the hot cache:
// lookups of different keys rarely wait for each other.
const hotShards = 32

// hotCache is the per-replica in-process cache in front of the Store (L1
// in the options and metrics: Options.L1Bytes, isr_l1_*). It is sharded,
// bounded in bytes, evicts the least recently used entry of a shard, and
// keeps an entry at most maxAge: pub/sub is at most once, so the age bound
// is what limits how long a replica that missed an event serves an
// outdated page. Each entry holds its page prepared for answering (served):
// the representations it has sent, kept while the page's generation is
// unchanged, across re-reads from the store.
//
// Keys are spread over hotShards shards, each with its own lock and LRU
// list (hand-written rather than a cache library: the fill-race rule below
// and the expired-but-kept copies are this cache's own); the byte budget
// and the event counters are shared atomics.
//
// Fill race: a reader that fetched generation g from the store may insert it
// after an event for g+1 was applied. Every insert therefore carries the
// event counter read before its fetch (from mark), and is refused if an
// event for its key with a newer generation (a revalidation's floor counts
// as newer), or a flush, came after that. The event of the very page being
// inserted, as a writer hears of its own write, does not refuse it.
type hotCache struct {
	max    int64
	maxAge time.Duration
	codec  *codec // of the pages it prepares (see newServed)
	seed   maphash.Seed

	size    atomic.Int64
	events  atomic.Uint64 // events applied so far
	flushed atomic.Uint64 // events counter at the last flush
	shards  [hotShards]hotCacheShard

	fmu     sync.Mutex
	flushes map[FlushReason]int // flush count by reason
}

type hotCacheShard struct {
	mu      sync.Mutex
	lru     *list.List // of *hotCacheItem, most recent first
	items   map[string]*list.Element
	touched map[string]hotCacheTouch // key -> last event for it
}

type hotCacheItem struct {
	key     string
	e       Entry
	at      time.Time // local time the entry was read from the store
	size    int64
	expired bool // flushed: kept only as a stale-if-error copy
}

type hotCacheTouch struct {
	n   uint64
	at  time.Time
	gen int64 // the event's generation; fills of it or newer are still fine
}

// newHotCache returns a hot cache of max bytes (negative: disabled) whose
// entries live at most maxAge, preparing pages with codec.
func newHotCache(max int64, maxAge time.Duration, codec *codec) *hotCache {
	c := &hotCache{max: max, maxAge: maxAge, codec: codec, seed: maphash.MakeSeed(), flushes: map[FlushReason]int{}}
	for i := range c.shards {
		c.shards[i] = hotCacheShard{lru: list.New(), items: map[string]*list.Element{}, touched: map[string]hotCacheTouch{}}
	}
	return c
}

func (c *hotCache) shard(key string) *hotCacheShard {
	return &c.shards[maphash.String(c.seed, key)%hotShards]
}

// mark returns the event counter to pass to put after a store read.
func (c *hotCache) mark() uint64 { return c.events.Load() }

// get returns the entry for key aged by the local time since it was read,
// or false if absent or, unless old is set, older than maxAge.
func (c *hotCache) get(key string, now time.Time, old bool) (*Entry, bool) {
	if c.max < 0 {
		return nil, false
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if !ok {
		return nil, false
	}
	it := el.Value.(*hotCacheItem)
	elapsed := now.Sub(it.at)
	if !old && (it.expired || elapsed > c.maxAge || elapsed < 0) {
		// Kept, not removed: while the store is unreachable, an outdated
		// copy served as STALE beats an error (see Handler.lookup).
		return nil, false
	}
	s.lru.MoveToFront(el)
	e := it.e
	e.Age += elapsed
	if e.Fresh != Forever {
		e.Fresh -= elapsed
	}
	if old && (it.expired || elapsed > c.maxAge) {
		e.Fresh = 0
	}
	return &e, true
}

// put inserts e, read from the store after mark returned seen, and sets
// e's prepared page to the one the cache keeps (that of the entry it
// replaces, if that has the same generation).
func (c *hotCache) put(key string, e *Entry, seen uint64, now time.Time) {
	size := int64(e.Page.Size())
	if c.max < 0 || size > c.max/4 {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	if seen < c.flushed.Load() {
		s.mu.Unlock()
		return
	}
	if t, ok := s.touched[key]; ok && t.n > seen && t.gen > e.Page.Gen {
		s.mu.Unlock()
		return
	}
	if el, ok := s.items[key]; ok {
		it := el.Value.(*hotCacheItem)
		if !it.expired && it.e.Page.Gen > e.Page.Gen {
			s.mu.Unlock()
			return
		}
		if it.e.Page.Gen == e.Page.Gen && e.served == nil {
			e.served = it.e.served // the same page: keep what was prepared
		}
		c.remove(s, el)
	}
	if e.served == nil {
		e.served = newServed(e.Page, c.codec)
	}
	if len(e.served.encs) > 1 {
		// Room for the representations it may be asked for: a
		// compressed page decodes to about four times its size.
		size *= 6
	}
	s.items[key] = s.lru.PushFront(&hotCacheItem{key: key, e: *e, at: now, size: size})
	c.size.Add(size)
	for c.size.Load() > c.max && s.lru.Len() > 1 {
		c.remove(s, s.lru.Back())
	}
	s.mu.Unlock()
	c.shrink()
}

// shrink evicts the least recently used entries of each shard in turn
// until the cache is within its budget.
func (c *hotCache) shrink() {
	for i := 0; c.size.Load() > c.max && i < 4*hotShards; i++ {
		s := &c.shards[i%hotShards]
		s.mu.Lock()
		if el := s.lru.Back(); el != nil {
			c.remove(s, el)
		}
		s.mu.Unlock()
	}
}

// apply drops key's entry if it is older than gen (or always, for gen 0),
// and records the event for the fill-race check.
func (c *hotCache) apply(key string, gen int64, now time.Time) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := c.events.Add(1)
	g := gen
	if g == 0 {
		g = math.MaxInt64
	}
	s.touched[key] = hotCacheTouch{n: n, at: now, gen: g}
	if el, ok := s.items[key]; ok && (gen == 0 || el.Value.(*hotCacheItem).e.Page.Gen < gen) {
		c.remove(s, el)
	}
	if len(s.touched) > 4096/hotShards+64 {
		// A fill takes far less than maxAge plus a render; older records
		// can no longer refuse anything.
		for k, t := range s.touched {
			if now.Sub(t.at) > c.maxAge+time.Minute {
				delete(s.touched, k)
			}
		}
	}
}

// flush expires every entry: none is served from the hot cache again, but
// each stays, until evicted or replaced, as the copy to serve as STALE
// while the store is unreachable. (A flush often means Redis went away:
// dropping the copies then would turn "stale beats error" into errors.)
func (c *hotCache) flush(reason FlushReason) {
	c.fmu.Lock()
	c.flushes[reason]++
	c.fmu.Unlock()
	c.flushed.Store(c.events.Add(1))
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for el := s.lru.Front(); el != nil; el = el.Next() {
			el.Value.(*hotCacheItem).expired = true
		}
		s.touched = map[string]hotCacheTouch{}
		s.mu.Unlock()
	}
}

// stats returns the number of entries and bytes held, expired copies
// included.
func (c *hotCache) stats() (entries int, bytes int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		entries += len(s.items)
		s.mu.Unlock()
	}
	return entries, c.size.Load()
}

func (c *hotCache) remove(s *hotCacheShard, el *list.Element) {
	it := s.lru.Remove(el).(*hotCacheItem)
	delete(s.items, it.key)
	c.size.Add(-it.size)
}

// flushCounts returns a copy of the flush counts by reason.
func (c *hotCache) flushCounts() map[FlushReason]int {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	out := make(map[FlushReason]int, len(c.flushes))
	for k, v := range c.flushes {
		out[k] = v
	}
	return out
}
