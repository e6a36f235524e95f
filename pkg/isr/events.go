package isr

import (
	"sync"
)

// apply applies one event. It runs on the bus's goroutine and never blocks.
func (h *Handler) apply(ev Event) {
	if ev.Kind == EventReset {
		h.seqs.reset()
		h.hot.flush(FlushReset)
		h.waits.wakeAll()
		return
	}
	if ev.Seq != 0 && h.seqs.gap(ev.Shard, ev.Seq) {
		h.hot.flush(FlushGap)
	}
	h.hot.apply(ev.Key, ev.Gen, h.opts.Now())
	h.local.hear(ev.Key, ev.Gen, ev.Kind)
	switch ev.Kind {
	case EventWritten:
		h.waits.wake(ev.Key)
	case EventStale, EventDeleted:
		// An on-demand revalidation: the next visit may regenerate at once.
		h.backoff.clear(BaseKey(ev.Key)) // backoffs are per page
	}
}

// sequences is the last event number seen per shard.
type sequences struct {
	mu   sync.Mutex
	last map[uint32]uint64
}

// gap records seq as the last number of shard and reports whether it does
// not follow the previous one. The first number of a shard (since a reset)
// is no gap.
func (s *sequences) gap(shard uint32, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[uint32]uint64{}
	}
	last := s.last[shard]
	s.last[shard] = seq
	return last != 0 && seq != last+1
}

// reset forgets every shard's last number.
func (s *sequences) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.last)
}
