package isr

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func entry(key string, gen int64, body string) *Entry {
	return &Entry{Page: &Page{Key: key, Status: 200, Body: []byte(body), Gen: gen}, Fresh: time.Minute}
}

func TestHotAgesAndExpires(t *testing.T) {
	t.Parallel()
	c := newHotCache(1<<20, time.Second, newCodec(1<<20))
	t0 := time.Unix(1000, 0)
	c.put("/a", entry("/a", 1, "x"), c.mark(), t0)
	e, ok := c.get("/a", t0.Add(400*time.Millisecond), false)
	if !ok || e.Age != 400*time.Millisecond || e.Fresh != time.Minute-400*time.Millisecond {
		t.Fatalf("get = %+v, %v; want aged by 400ms", e, ok)
	}
	if _, ok := c.get("/a", t0.Add(2*time.Second), false); ok {
		t.Fatal("entry served past maxAge")
	}
	e, ok = c.get("/a", t0.Add(2*time.Second), true)
	if !ok || !e.Stale() {
		t.Fatalf("old copy = %+v, %v; want it, as stale", e, ok)
	}
}

func TestHotRefusesFillsThatRacedAnEvent(t *testing.T) {
	t.Parallel()
	c := newHotCache(1<<20, time.Minute, newCodec(1<<20))
	now := time.Unix(1000, 0)
	seen := c.mark()      // a reader starts reading gen 1 from the store
	c.apply("/a", 2, now) // meanwhile gen 2 is written and announced
	c.put("/a", entry("/a", 1, "old"), seen, now)
	if _, ok := c.get("/a", now, false); ok {
		t.Fatal("a fill that started before the event was kept")
	}
	c.put("/b", entry("/b", 1, "b"), seen, now) // other keys are unaffected
	if _, ok := c.get("/b", now, false); !ok {
		t.Fatal("fill of an untouched key refused")
	}
	seen = c.mark()
	c.apply("/own", 7, now) // a writer hears of its own write first
	c.put("/own", entry("/own", 7, "mine"), seen, now)
	if _, ok := c.get("/own", now, false); !ok {
		t.Fatal("the writer's own page was refused by the event of that very page")
	}
	seen = c.mark()
	c.flush("reset")
	c.put("/c", entry("/c", 1, "c"), seen, now)
	if _, ok := c.get("/c", now, false); ok {
		t.Fatal("a fill that started before a flush was kept")
	}
	if _, ok := c.get("/b", now, false); ok {
		t.Fatal("an entry was served after a flush")
	}
	if e, ok := c.get("/b", now, true); !ok || !e.Stale() {
		t.Fatalf("flushed entry as a stale-if-error copy = %+v, %v; want it, stale", e, ok)
	}
	c.put("/b", entry("/b", 1, "b again"), c.mark(), now)
	if e, ok := c.get("/b", now, false); !ok || string(e.Page.Body) != "b again" {
		t.Fatalf("refill after a flush = %+v, %v", e, ok)
	}
}

func TestHotDropsOlderGenerations(t *testing.T) {
	t.Parallel()
	c := newHotCache(1<<20, time.Minute, newCodec(1<<20))
	now := time.Unix(1000, 0)
	c.put("/a", entry("/a", 5, "v5"), c.mark(), now)
	c.apply("/a", 5, now) // the event of our own write keeps it
	if _, ok := c.get("/a", now, false); !ok {
		t.Fatal("entry dropped by the event of its own generation")
	}
	c.apply("/a", 6, now)
	if _, ok := c.get("/a", now, false); ok {
		t.Fatal("entry kept after a newer generation was announced")
	}
}

func TestHotBoundedInBytes(t *testing.T) {
	t.Parallel()
	c := newHotCache(10_000, time.Minute, newCodec(1<<20))
	now := time.Unix(1000, 0)
	for i := 0; i < 100; i++ {
		k := "/" + strings.Repeat("k", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
		c.put(k, entry(k, 1, strings.Repeat("x", 1000)), c.mark(), now)
		if _, size := c.stats(); size > 10_000 {
			t.Fatalf("size %d over the 10000-byte bound", size)
		}
	}
	if n, _ := c.stats(); n == 0 || n > 10 {
		t.Fatalf("%d entries of ~1 KB in 10 KB", n)
	}
	c.put("/huge", entry("/huge", 1, strings.Repeat("x", 5000)), c.mark(), now)
	if _, ok := c.get("/huge", now, false); ok {
		t.Fatal("an entry over a quarter of the bound was kept")
	}
	off := newHotCache(-1, time.Minute, newCodec(1<<20))
	off.put("/a", entry("/a", 1, "x"), off.mark(), now)
	if _, ok := off.get("/a", now, false); ok {
		t.Fatal("disabled cache kept an entry")
	}
}
