package isr

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxLocalBytes bounds the pages a replica keeps that the store may not
// hold (see locals).
const maxLocalBytes = 16 << 20

// locals are the pages this replica rendered but could not store (the
// store was unreachable or did not answer in time). They keep reads
// monotonic on this replica whatever the store does:
//
//   - the other visitors get such a page too, from its one render: no
//     render storm while the store is unreachable;
//   - once the store answers again, its copy is not served instead while
//     it is older. A store page is newer if its generation is at least the
//     fencing token the kept page was rendered with (it was rendered later,
//     or is the kept page itself, written late); for a page rendered
//     without a token, if the store wrote it after the kept page's render
//     ended (the store's Age, taken back from the reader's clock: no clock
//     skew enters); and if this replica stored a render of the key that
//     began after the kept one. A write event of the key makes a kept page
//     without a token be checked against the store at its next visit;
//   - a kept page is served as STALE once older than the hot cache's
//     maximum age, which starts a regeneration: that writes the page back
//     through the fenced write with its token, when it had one, or renders
//     it anew under the lock, and then drops it.
//
// A deletion of the key drops its kept page. Pages are kept up to
// maxLocalBytes in all; past that, new ones are not kept.
type locals struct {
	mu    sync.Mutex
	seq   uint64 // orders renders on this replica
	pages map[string]*localPage
	bytes int
}

type localPage struct {
	e      Entry     // Page.Gen is the fencing token it was rendered with, or 0
	seq    uint64    // tick taken when its render began
	at     time.Time // local time of the render
	verify bool      // a write was announced: ask the store before serving it
}

// tick returns a number larger than every earlier one: take one before a
// render, to pass to put or stored.
func (l *locals) tick() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return l.seq
}

// hear applies an event of the store about key: a write of generation gen
// at least the kept page's token, or a deletion, drops the kept page; a
// write of a page rendered without a token makes it checked against the
// store at its next visit.
func (l *locals) hear(key string, gen int64, kind EventKind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pages[key]
	switch {
	case p == nil:
	case kind == EventDeleted || (kind == EventWritten && p.e.Page.Gen > 0 && gen >= p.e.Page.Gen):
		l.dropLocked(key)
	case kind == EventWritten:
		p.verify = true
	}
}

// put keeps e, rendered but not stored, whose render began at tick.
func (l *locals) put(key string, e *Entry, tick uint64, now time.Time) {
	size := e.Page.Size()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pages == nil {
		l.pages = map[string]*localPage{}
	}
	if p := l.pages[key]; p != nil && p.seq > tick {
		return // a later render is kept already
	}
	l.dropLocked(key)
	if l.bytes+size > maxLocalBytes {
		return
	}
	l.pages[key] = &localPage{e: *e, seq: tick, at: now}
	l.bytes += size
}

// stored drops key's kept page if a render of key that began at tick, after
// the kept page's, was stored.
func (l *locals) stored(key string, tick uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.pages[key]; p != nil && p.seq < tick {
		l.dropLocked(key)
	}
}

// get returns key's kept page aged by the time since its render, as stale
// once older than maxAge; with fresh set, only while it is not.
func (l *locals) get(key string, now time.Time, maxAge time.Duration, fresh bool) (*Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pages[key]
	if p == nil {
		return nil, false
	}
	elapsed := now.Sub(p.at)
	old := elapsed > maxAge || elapsed < 0
	if fresh && (old || p.verify) {
		return nil, false
	}
	e := p.e
	e.Age += max(elapsed, 0)
	if e.Fresh != Forever {
		e.Fresh -= elapsed
	}
	if old {
		e.Fresh = 0
	}
	return &e, true
}

// newer returns key's kept page, as stale, unless the store's copy e (nil:
// none), read at now, is known to be newer: then it drops it.
func (l *locals) newer(key string, e *Entry, now time.Time) (*Entry, bool) {
	l.mu.Lock()
	p := l.pages[key]
	if p != nil && e != nil {
		tok := p.e.Page.Gen
		if (tok > 0 && e.Page.Gen >= tok) || (tok == 0 && now.Add(-e.Age).After(p.at)) {
			l.dropLocked(key)
			p = nil
		}
	}
	l.mu.Unlock()
	if p == nil {
		return nil, false
	}
	kept, ok := l.get(key, now, 0, false)
	if ok {
		kept.Fresh = 0
	}
	return kept, ok
}

// drop forgets key's kept page.
func (l *locals) drop(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked(key)
}

func (l *locals) dropLocked(key string) {
	if p := l.pages[key]; p != nil {
		l.bytes -= p.e.Page.Size()
		delete(l.pages, key)
	}
}

// keeps reports whether this replica holds a page of key that may be newer
// than e, the store's copy (see Handler.kept).
func (h *Handler) keeps(key string, e *Entry) bool {
	_, ok := h.kept(key, e, h.opts.Now())
	return ok
}

// writeBack stores this replica's unstored render of key, if it has one
// that was rendered with a fencing token, through the fenced write with
// that token, and reports whether it was stored. A newer page stored since
// refuses it (the kept page is dropped then: the store's is newer).
func (h *Handler) writeBack(ctx context.Context, key string) bool {
	e, ok := h.local.get(key, h.opts.Now(), 0, false)
	if !ok || e.Page.Gen == 0 {
		return false
	}
	seen := h.hot.mark()
	stored, err := h.opts.Backend.Put(ctx, key, e.Page.Gen, e.Page, h.ttl(e.Page))
	if errors.Is(err, ErrFenced) {
		h.local.drop(key)
	}
	if err != nil {
		return false
	}
	h.local.drop(key)
	e = &Entry{Page: e.Page, Fresh: e.Page.Revalidate}
	switch {
	case !stored:
		e.Fresh = 0
	case e.Page.Revalidate == Never:
		e.Fresh = Forever
	}
	h.hot.put(key, e, seen, h.opts.Now())
	return true
}
