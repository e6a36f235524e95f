package isr_test

import (
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

type recordingObserver struct {
	mu       sync.Mutex
	outcomes []isr.RegenOutcome
}

func (o *recordingObserver) Regeneration(outcome isr.RegenOutcome, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, outcome)
}

func (o *recordingObserver) LockWait(time.Duration) {}

func (o *recordingObserver) last() isr.RegenOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.outcomes) == 0 {
		return ""
	}
	return o.outcomes[len(o.outcomes)-1]
}

func TestObserverSeesRegenerations(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	r := newRig(t, isr.Options{Revalidate: 100 * time.Millisecond, L1MaxAge: 10 * time.Millisecond, Observer: obs, Go: inline})
	r.get(t, "/p")
	r.clock.Advance(150 * time.Millisecond)
	r.get(t, "/p")
	if got := obs.last(); got != isr.RegenWritten {
		t.Fatalf("after a stale visit the observer saw %q, want %q", got, isr.RegenWritten)
	}
	r.origin.SetFailure("/p", isrtest.FailError)
	r.clock.Advance(150 * time.Millisecond)
	r.get(t, "/p")
	if got := obs.last(); got != isr.RegenFailed {
		t.Fatalf("after a stale visit to a failing origin the observer saw %q, want %q", got, isr.RegenFailed)
	}
	if s := r.h.Stats(); s.L1Flushes[isr.FlushReset] < 1 {
		t.Errorf("Stats = %+v: the first subscription's reset was not counted", s)
	}
}
