package isr_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestConfirm: after a revalidation, Handler.Confirm returns once the
// replica's own listener (Run) applied its event, and reports the outcome
// to a ConfirmObserver.
func TestConfirm(t *testing.T) {
	t.Parallel()
	obs := &confirmObserver{}
	r := newRig(t, isr.Options{Observer: obs})
	wantState(t, r.get(t, "/a"), "MISS")
	if _, err := r.h.Revalidate(context.Background(), isr.Revalidation{Paths: []string{"/a"}, Mode: isr.ModeStale}); err != nil {
		t.Fatal(err)
	}
	var conf isr.Confirmation
	eventually(t, "Run to listen", func() bool {
		var err error
		conf, err = r.h.Confirm(context.Background(), time.Second)
		return err == nil && conf.Complete() && len(conf.Acked) == 1
	})
	if got := obs.confirmed(); len(got) == 0 || got[len(got)-1] != isr.ConfirmComplete {
		t.Fatalf("observed outcomes %v, want the last one complete", got)
	}
}

type confirmObserver struct {
	recordingObserver
	confirms []string // guarded by recordingObserver.mu
}

func (o *confirmObserver) Confirmed(outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.confirms = append(o.confirms, outcome)
}

func (o *confirmObserver) confirmed() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.confirms)
}
