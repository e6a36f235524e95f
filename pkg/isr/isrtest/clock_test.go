package isrtest

import (
	"testing"
	"time"
)

func TestClockAfter(t *testing.T) {
	c := NewClock(time.Unix(0, 0))
	soon, later, now := c.After(time.Second), c.After(time.Minute), c.After(0)
	select {
	case <-now:
	default:
		t.Fatal("After(0) did not fire at once")
	}
	if n := c.Timers(); n != 2 {
		t.Fatalf("Timers() = %d, want 2", n)
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-soon:
		t.Fatal("After(1s) fired after 999ms")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-soon; !got.Equal(time.Unix(1, 0)) {
		t.Errorf("After(1s) sent %v, want the clock's time 1s", got)
	}
	select {
	case <-later:
		t.Fatal("After(1m) fired after 1s")
	default:
	}
	if n := c.Timers(); n != 1 {
		t.Fatalf("Timers() = %d after one fired, want 1", n)
	}
}

func TestClock(t *testing.T) {
	var c Clock
	start := c.Now()
	if got := c.Advance(time.Minute); !got.Equal(start.Add(time.Minute)) || !c.Now().Equal(got) {
		t.Fatalf("Advance(1m) = %v, Now = %v; want %v", got, c.Now(), start.Add(time.Minute))
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := NewClock(at).Now(); !got.Equal(at) {
		t.Fatalf("NewClock(%v).Now() = %v", at, got)
	}
}
