package isrredis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestConfirm runs three replicas' backends on one Redis. A confirmation
// asked for right after an invalidation returns once all three
// acknowledged, and each had applied the invalidation's event by then
// (barrier order). A replica whose listener stalls (its callback blocks)
// is listed as missing when the wait runs out, and leaves the live set
// once its heartbeat is older than ReplicaTTL; a replica whose Listen
// returns leaves at once.
func TestConfirm(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	opts := func(name string) *isrredis.Options {
		return &isrredis.Options{Replica: name, ProbeInterval: 100 * time.Millisecond, ReplicaTTL: 300 * time.Millisecond}
	}
	r1, r2, r3 := isrredis.New(e.srv.Client(t), opts("r1")), isrredis.New(e.srv.Client(t), opts("r2")), isrredis.New(e.srv.Client(t), opts("r3"))
	ev1, ev2 := listen(t, r1), listen(t, r2)

	// r3's callback blocks while stall is held.
	stall := make(chan struct{})
	ev3 := &events{}
	ctx3, stop3 := context.WithCancel(ctx)
	done3 := make(chan error, 1)
	blocking := func(ev isr.Event) {
		ev3.add(ev)
		if ev.Kind == isr.EventStale && ev.Key == "/stall" {
			<-stall
		}
	}
	go func() { done3 <- r3.Listen(ctx3, blocking) }()
	t.Cleanup(func() { stop3(); <-done3 })
	eventually(t, "r3's first Reset", func() bool { return ev3.count(isr.EventReset) >= 1 })
	eventually(t, "three live replicas", func() bool {
		live, err := r1.Replicas(ctx)
		return err == nil && slices.Equal(live, []string{"r1", "r2", "r3"})
	})

	mustPut(t, r1, "/p", mustToken(t, r1, "/p"), page("/p", "x", time.Hour))
	if _, err := r2.Invalidate(ctx, isr.ModeStale, "/p"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conf, err := r2.Confirm(cctx)
	cancel()
	if err != nil || !conf.Complete() || !slices.Equal(conf.Acked, []string{"r1", "r2", "r3"}) {
		t.Fatalf("Confirm = %+v, %v; want r1, r2, r3 acked, none missing", conf, err)
	}
	for name, r := range map[string]*events{"r1": ev1, "r2": ev2, "r3": ev3} {
		if _, ok := r.find(0, func(ev isr.Event) bool { return ev.Kind == isr.EventStale && ev.Key == "/p" }); !ok {
			t.Errorf("%s acknowledged before applying the invalidation of /p", name)
		}
	}

	// r3 stalls on its next event.
	if _, err := r1.Invalidate(ctx, isr.ModeStale, "/p"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, r1, "/stall", mustToken(t, r1, "/stall"), page("/stall", "x", time.Hour))
	if _, err := r1.Invalidate(ctx, isr.ModeStale, "/stall"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	conf, err = r1.Confirm(cctx)
	cancel()
	if err != nil || conf.Complete() || !slices.Equal(conf.Acked, []string{"r1", "r2"}) || !slices.Equal(conf.Missing, []string{"r3"}) {
		t.Fatalf("Confirm with r3 stalled = %+v, %v; want r1, r2 acked and r3 missing", conf, err)
	}
	eventually(t, "the stalled r3 to leave the live set", func() bool {
		live, err := r1.Replicas(ctx)
		return err == nil && slices.Equal(live, []string{"r1", "r2"})
	})
	cctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	conf, err = r1.Confirm(cctx)
	cancel()
	if err != nil || !conf.Complete() {
		t.Fatalf("Confirm once r3 left = %+v, %v; want complete", conf, err)
	}
	close(stall)
	eventually(t, "r3 back in the live set", func() bool {
		live, err := r1.Replicas(ctx)
		return err == nil && slices.Contains(live, "r3")
	})
	stop3()
	<-done3
	done3 <- nil // for the cleanup
	live, err := r1.Replicas(ctx)
	if err != nil || slices.Contains(live, "r3") {
		t.Fatalf("live replicas after r3's Listen returned = %v, %v; want r3 gone at once", live, err)
	}
}
