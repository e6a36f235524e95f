package isr

import (
	"context"
)

// Run listens for the backend's events and applies them until ctx is done:
// each write or revalidation drops the key's hot-cache entry in this
// replica and wakes the visitors waiting for it; a Reset (a new or renewed
// subscription) or a gap in the sequence numbers flushes the hot cache,
// since events may have been lost. Run returns nil when ctx is done, or the
// bus's error.
func (h *Handler) Run(ctx context.Context) error {
	return h.opts.Backend.Listen(ctx, h.apply)
}

// apply applies one event. It runs on the bus's goroutine and never blocks.
func (h *Handler) apply(ev Event) {
	if ev.Kind == EventReset {
		h.lastSeq.Store(0)
		h.l1.flush(FlushReset)
		h.waits.wakeAll()
		return
	}
	if ev.Seq != 0 {
		if last := h.lastSeq.Swap(ev.Seq); last != 0 && ev.Seq != last+1 {
			h.l1.flush(FlushGap)
		}
	}
	h.l1.apply(ev.Key, ev.Gen, h.opts.Now())
	switch ev.Kind {
	case EventWritten:
		h.waits.wake(ev.Key)
	case EventStale, EventDeleted:
		// An on-demand revalidation: the next visit may regenerate at once.
		h.backoff.clear(ev.Key)
	}
}
