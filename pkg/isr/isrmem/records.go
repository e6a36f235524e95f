package isrmem

import (
	"container/heap"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// tombstoneSize is the memory counted for a record without a page.
const tombstoneSize = 64

// The methods below keep Backend.recs, tags, order, expiry and bytes
// consistent. b.mu must be held.

// live returns the record of key, or nil if there is none or it expired
// (it is removed then).
func (b *Backend) live(key string, now time.Time) *record {
	rec := b.recs[key]
	if rec != nil && rec.expired(now) {
		b.remove(rec)
		return nil
	}
	return rec
}

// expired reports whether rec is past its hard expiry at now.
func (rec *record) expired(now time.Time) bool {
	return !rec.expires.IsZero() && !rec.expires.After(now)
}

// prune removes every record that expired by now.
func (b *Backend) prune(now time.Time) {
	for len(b.expiry) > 0 && b.expiry[0].expired(now) {
		b.remove(b.expiry[0])
	}
}

// evict removes the least recently written records until the stored bytes
// fit MaxBytes.
func (b *Backend) evict() {
	for b.maxBytes >= 0 && b.bytes > b.maxBytes && b.order.Len() > 0 {
		b.remove(b.order.Front().Value.(*record))
	}
}

// setPage replaces rec's page by p (nil for a tombstone), updating the tag
// and variant indexes and the byte count.
func (b *Backend) setPage(rec *record, p *isr.Page) {
	if isr.IsVariant(rec.key) {
		b.indexVariant(rec.key, p != nil)
	}
	if rec.page != nil {
		for _, tag := range rec.page.Tags {
			if keys := b.tags[tag]; keys != nil {
				delete(keys, rec.key)
				if len(keys) == 0 {
					delete(b.tags, tag)
				}
			}
		}
	}
	b.bytes -= rec.size
	rec.page = p
	rec.size = int64(len(rec.key) + tombstoneSize)
	if p != nil {
		rec.size = int64(p.Size())
		for _, tag := range p.Tags {
			keys := b.tags[tag]
			if keys == nil {
				keys = make(map[string]struct{})
				b.tags[tag] = keys
			}
			keys[rec.key] = struct{}{}
		}
	}
	b.bytes += rec.size
}

// indexVariant adds the variant key to its page's variant index, or removes
// it.
func (b *Backend) indexVariant(key string, stored bool) {
	page := isr.BaseKey(key)
	vs := b.vars[page]
	switch {
	case stored && vs == nil:
		b.vars[page] = map[string]struct{}{key: {}}
	case stored:
		vs[key] = struct{}{}
	case vs != nil:
		delete(vs, key)
		if len(vs) == 0 {
			delete(b.vars, page)
		}
	}
}

// setExpiry sets rec's hard expiry; zero means never.
func (b *Backend) setExpiry(rec *record, expires time.Time) {
	rec.expires = expires
	switch {
	case expires.IsZero() && rec.heapIdx >= 0:
		heap.Remove(&b.expiry, rec.heapIdx)
	case expires.IsZero():
	case rec.heapIdx >= 0:
		heap.Fix(&b.expiry, rec.heapIdx)
	default:
		heap.Push(&b.expiry, rec)
	}
}

// remove forgets rec entirely: page, counters and tombstone.
func (b *Backend) remove(rec *record) {
	b.setPage(rec, nil)
	b.bytes -= rec.size
	b.setExpiry(rec, time.Time{})
	b.order.Remove(rec.elem)
	delete(b.recs, rec.key)
}

// expiryHeap orders records by hard expiry, soonest first.
type expiryHeap []*record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h *expiryHeap) Push(x any) {
	rec := x.(*record)
	rec.heapIdx = len(*h)
	*h = append(*h, rec)
}

func (h *expiryHeap) Pop() any {
	old := *h
	rec := old[len(old)-1]
	old[len(old)-1] = nil
	rec.heapIdx = -1
	*h = old[:len(old)-1]
	return rec
}
