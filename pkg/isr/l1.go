package isr

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// hot is the per-replica in-process cache (L1) in front of the Store. It is
// bounded in bytes, evicts the least recently used entry, and keeps an entry
// at most maxAge: pub/sub is at most once, so the age bound is what limits
// how long a replica that missed an event serves an outdated page.
//
// Fill race: a reader that fetched generation g from the store may insert it
// after an event for g+1 was applied. Every insert therefore carries the
// event counter read before its fetch (from mark), and is refused if an
// event for its key with a newer generation (a revalidation's floor counts
// as newer), or a flush, came after that. The event of the very page being
// inserted, as a writer hears of its own write, does not refuse it.
type hot struct {
	max    int64
	maxAge time.Duration

	mu      sync.Mutex
	size    int64
	lru     *list.List // of *hotItem, most recent first
	items   map[string]*list.Element
	events  uint64              // events applied so far
	flushed uint64              // events counter at the last flush
	touched map[string]hotTouch // key -> last event for it
	flushes map[string]int      // flush count by reason
}

type hotItem struct {
	key     string
	e       Entry
	at      time.Time // local time the entry was read from the store
	size    int64
	expired bool // flushed: kept only as a stale-if-error copy
}

type hotTouch struct {
	n   uint64
	at  time.Time
	gen int64 // the event's generation; fills of it or newer are still fine
}

func newHot(max int64, maxAge time.Duration) *hot {
	return &hot{max: max, maxAge: maxAge, lru: list.New(), items: map[string]*list.Element{},
		touched: map[string]hotTouch{}, flushes: map[string]int{}}
}

// mark returns the event counter to pass to put after a store read.
func (c *hot) mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

// get returns the entry for key aged by the local time since it was read,
// or false if absent or, unless old is set, older than maxAge.
func (c *hot) get(key string, now time.Time, old bool) (*Entry, bool) {
	if c.max < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	it := el.Value.(*hotItem)
	elapsed := now.Sub(it.at)
	if !old && (it.expired || elapsed > c.maxAge || elapsed < 0) {
		// Kept, not removed: while the store is unreachable, an outdated
		// copy served as STALE beats an error (see Handler.lookup).
		return nil, false
	}
	c.lru.MoveToFront(el)
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

// put inserts e, read from the store after mark returned seen.
func (c *hot) put(key string, e *Entry, seen uint64, now time.Time) {
	size := int64(e.Page.Size())
	if c.max < 0 || size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if seen < c.flushed {
		return
	}
	if t, ok := c.touched[key]; ok && t.n > seen && t.gen > e.Page.Gen {
		return
	}
	if el, ok := c.items[key]; ok {
		if it := el.Value.(*hotItem); !it.expired && it.e.Page.Gen > e.Page.Gen {
			return
		}
		c.remove(el)
	}
	c.items[key] = c.lru.PushFront(&hotItem{key: key, e: *e, at: now, size: size})
	c.size += size
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// apply drops key's entry if it is older than gen (or always, for gen 0),
// and records the event for the fill-race check.
func (c *hot) apply(key string, gen int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	g := gen
	if g == 0 {
		g = math.MaxInt64
	}
	c.touched[key] = hotTouch{n: c.events, at: now, gen: g}
	if el, ok := c.items[key]; ok && (gen == 0 || el.Value.(*hotItem).e.Page.Gen < gen) {
		c.remove(el)
	}
	if len(c.touched) > 4096 {
		// A fill takes far less than maxAge plus a render; older records
		// can no longer refuse anything.
		for k, t := range c.touched {
			if now.Sub(t.at) > c.maxAge+time.Minute {
				delete(c.touched, k)
			}
		}
	}
}

// flush expires every entry: none is served from the hot cache again, but
// each stays, until evicted or replaced, as the copy to serve as STALE
// while the store is unreachable. (A flush often means Redis went away:
// dropping the copies then would turn "stale beats error" into errors.)
func (c *hot) flush(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	c.flushed = c.events
	c.flushes[reason]++
	for el := c.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*hotItem).expired = true
	}
	c.touched = map[string]hotTouch{}
}

// stats returns the number of entries and bytes held, expired copies
// included.
func (c *hot) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.size
}

func (c *hot) remove(el *list.Element) {
	it := c.lru.Remove(el).(*hotItem)
	delete(c.items, it.key)
	c.size -= it.size
}

// flushCounts returns a copy of the flush counts by reason.
func (c *hot) flushCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.flushes))
	for k, v := range c.flushes {
		out[k] = v
	}
	return out
}
