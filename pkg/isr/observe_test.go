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
	outcomes []string
}

func (o *recordingObserver) Regeneration(outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, outcome)
}

func (o *recordingObserver) LockWait(time.Duration) {}

func (o *recordingObserver) last() string {
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
	r := newRig(t, isr.Options{Revalidate: 100 * time.Millisecond, L1MaxAge: 10 * time.Millisecond, Observer: obs})
	r.get(t, "/p")
	time.Sleep(150 * time.Millisecond)
	r.get(t, "/p")
	eventually(t, "a written regeneration", func() bool { return obs.last() == isr.RegenWritten })
	r.origin.SetFailure("/p", isrtest.FailError)
	time.Sleep(150 * time.Millisecond)
	r.get(t, "/p")
	eventually(t, "a failed regeneration", func() bool { return obs.last() == isr.RegenFailed })
	if s := r.h.Stats(); s.L1Flushes[isr.FlushReset] < 1 {
		t.Errorf("Stats = %+v: the first subscription's reset was not counted", s)
	}
}
