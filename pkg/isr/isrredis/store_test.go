package isrredis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

func TestFencedWriteOrder(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	a := mustToken(t, e.b, "/p")
	b := mustToken(t, e.b, "/p")
	if a != 1 || b != 2 {
		t.Fatalf("tokens %d, %d; want 1, 2", a, b)
	}
	if !mustPut(t, e.b, "/p", b, page("/p", "B", time.Hour)) {
		t.Fatal("B's write stored stale")
	}
	if _, err := e.b.Put(ctx, "/p", a, page("/p", "A", time.Hour), time.Hour); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("zombie A's write: %v, want ErrFenced", err)
	}
	if _, err := e.b.Put(ctx, "/p", b, page("/p", "B again", time.Hour), time.Hour); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("second write with B's token: %v, want ErrFenced", err)
	}
	got := mustGet(t, e.b, "/p")
	if string(got.Page.Body) != "B" || got.Page.Gen != b {
		t.Fatalf("page %q gen %d; want B's (gen %d)", got.Page.Body, got.Page.Gen, b)
	}
	if c := mustToken(t, e.b, "/p"); c != 3 {
		t.Fatalf("next token %d, want 3", c)
	}
}

func TestPutRaisesFence(t *testing.T) {
	// A token issued by a rolled-back primary can exceed the counter: the
	// next token must still be above the stored generation.
	e := setup(t, nil)
	mustPut(t, e.b, "/p", 10, page("/p", "x", time.Hour))
	if n := mustToken(t, e.b, "/p"); n != 11 {
		t.Fatalf("token after a write with 10: %d, want 11", n)
	}
}

func TestWriteAfterRevalidateStoredStale(t *testing.T) {
	for _, mode := range []isr.Mode{isr.ModeStale, isr.ModeEager} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := setup(t, nil)
			ctx := context.Background()
			mustPut(t, e.b, "/p", mustToken(t, e.b, "/p"), page("/p", "v1", time.Hour))
			c := mustToken(t, e.b, "/p") // a render in flight
			found, err := e.b.Invalidate(ctx, mode, "/p")
			if err != nil || !reflect.DeepEqual(found, []bool{true}) {
				t.Fatalf("Invalidate: %v, %v", found, err)
			}
			if got := mustGet(t, e.b, "/p"); !got.Stale() || string(got.Page.Body) != "v1" {
				t.Fatalf("after revalidate: stale=%v body %q", got.Stale(), got.Page.Body)
			}
			if mustPut(t, e.b, "/p", c, page("/p", "v2", time.Hour)) {
				t.Fatal("in-flight write stored fresh after a revalidation")
			}
			if got := mustGet(t, e.b, "/p"); !got.Stale() || string(got.Page.Body) != "v2" {
				t.Fatalf("in-flight write: stale=%v body %q", got.Stale(), got.Page.Body)
			}
			d := mustToken(t, e.b, "/p")
			if !mustPut(t, e.b, "/p", d, page("/p", "v3", time.Hour)) {
				t.Fatal("write with a token after the revalidation stored stale")
			}
			if got := mustGet(t, e.b, "/p"); got.Stale() || got.Page.Gen != d {
				t.Fatalf("new write: stale=%v gen %d, want fresh gen %d", got.Stale(), got.Page.Gen, d)
			}
		})
	}
}

func TestDeleteRefusesOlderWrites(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	mustPut(t, e.b, "/p", mustToken(t, e.b, "/p"), page("/p", "v1", time.Hour))
	c := mustToken(t, e.b, "/p")
	found, err := e.b.Invalidate(ctx, isr.ModeDelete, "/p")
	if err != nil || !found[0] {
		t.Fatalf("delete: %v, %v", found, err)
	}
	if _, err := e.b.Get(ctx, "/p"); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Get after delete: %v, want ErrNotFound", err)
	}
	if _, err := e.b.Put(ctx, "/p", c, page("/p", "old", time.Hour), time.Hour); !errors.Is(err, isr.ErrFenced) {
		t.Fatalf("write begun before the delete: %v, want ErrFenced", err)
	}
	if found, _ := e.b.Invalidate(ctx, isr.ModeDelete, "/p"); found[0] {
		t.Fatal("second delete found a page")
	}
	d := mustToken(t, e.b, "/p")
	if !mustPut(t, e.b, "/p", d, page("/p", "new", time.Hour)) {
		t.Fatal("write after the delete stored stale")
	}
	if got := mustGet(t, e.b, "/p"); string(got.Page.Body) != "new" || got.Stale() {
		t.Fatalf("after rewrite: %q stale=%v", got.Page.Body, got.Stale())
	}
}

func TestFreshnessByRedisClock(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	mustPut(t, e.b, "/p", 1, page("/p", "x", 300*time.Millisecond))
	got := mustGet(t, e.b, "/p")
	if got.Stale() || got.Fresh > 300*time.Millisecond || got.Age < 0 {
		t.Fatalf("just written: Fresh %v Age %v", got.Fresh, got.Age)
	}
	var last *isr.Entry
	eventually(t, "the page to go stale", func() bool {
		var err error
		last, err = e.b.Get(ctx, "/p")
		return err == nil && last.Stale()
	})
	if last.Age < 300*time.Millisecond {
		t.Fatalf("stale page of Age %v, under its revalidate time", last.Age)
	}
	if string(last.Page.Body) != "x" || last.Page.Revalidate != 300*time.Millisecond {
		t.Fatalf("page changed: %+v", last.Page)
	}
}

func TestNever(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	mustPut(t, e.b, "/p", 1, page("/p", "x", isr.Never))
	got := mustGet(t, e.b, "/p")
	if got.Fresh != isr.Forever || got.Page.Revalidate != isr.Never {
		t.Fatalf("Fresh %v Revalidate %v; want Forever, Never", got.Fresh, got.Page.Revalidate)
	}
	if _, err := e.b.Invalidate(ctx, isr.ModeStale, "/p"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, e.b, "/p"); !got.Stale() {
		t.Fatalf("revalidated Never page is fresh: %v", got.Fresh)
	}
	mustPut(t, e.b, "/p", mustToken(t, e.b, "/p"), page("/p", "y", isr.Never))
	if got := mustGet(t, e.b, "/p"); got.Fresh != isr.Forever {
		t.Fatalf("rewritten Never page: Fresh %v", got.Fresh)
	}
	// A Never page still has a hard TTL.
	if ttl := e.rdb.PTTL(ctx, e.b.PageKey("/p")).Val(); ttl <= 0 {
		t.Fatalf("Never page PTTL %v", ttl)
	}
}

func TestPageRoundTrip(t *testing.T) {
	e := setup(t, nil)
	key := "GET https://example.com/a b?q=1\x00"
	body := []byte("bin\x00\xff\r\n body")
	p := &isr.Page{
		Key:        key,
		Status:     http.StatusPermanentRedirect,
		Header:     http.Header{"Location": {"/x"}, "Link": {"<a>", "<b>"}},
		Body:       body,
		Tags:       []string{"t1", "t 2", "t1", ""},
		Revalidate: 90 * time.Second,
	}
	mustPut(t, e.b, key, 7, p)
	got := mustGet(t, e.b, key).Page
	want := &isr.Page{Key: key, Status: 308, Header: p.Header, Body: body,
		Tags: []string{"t1", "t 2"}, Revalidate: 90 * time.Second, Gen: 7}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	mustPut(t, e.b, "/empty", 1, &isr.Page{Status: 404})
	if got := mustGet(t, e.b, "/empty").Page; got.Header != nil || len(got.Body) != 0 || len(got.Tags) != 0 || got.Status != 404 {
		t.Fatalf("empty page: %+v", got)
	}
}

func TestTags(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	mustPut(t, e.b, "/a", 1, page("/a", "a", time.Hour, "posts", "home"))
	mustPut(t, e.b, "/b", 1, page("/b", "b", time.Hour, "posts"))
	keys, err := e.b.TagKeys(ctx, "posts")
	if err != nil || !reflect.DeepEqual(keys, []string{"/a", "/b"}) {
		t.Fatalf("TagKeys(posts) = %v, %v", keys, err)
	}
	if keys, err := e.b.TagKeys(ctx, "none"); err != nil || len(keys) != 0 {
		t.Fatalf("TagKeys(none) = %v, %v", keys, err)
	}
	found, err := e.b.Invalidate(ctx, isr.ModeStale, keys...)
	if err != nil || !reflect.DeepEqual(found, []bool{true, true}) {
		t.Fatalf("Invalidate tag keys: %v, %v", found, err)
	}
}

func TestHardTTL(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	if _, err := e.b.Put(ctx, "/p", 1, page("/p", "x", isr.Never), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page to expire", func() bool {
		_, err := e.b.Get(ctx, "/p")
		return errors.Is(err, isr.ErrNotFound)
	})
}

func TestTokenKeepsFenceAlive(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	if _, err := e.b.Put(ctx, "/p", 1, page("/p", "x", time.Minute), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, e.b, "/p")
	if ttl := e.rdb.PTTL(ctx, e.b.PageKey("/p")).Val(); ttl < 30*time.Minute {
		t.Fatalf("PTTL after Token %v, want about FenceTTL (1h)", ttl)
	}
	if _, err := e.b.Put(ctx, "/p", tok, page("/p", "y", time.Minute), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if ttl := e.rdb.PTTL(ctx, e.b.PageKey("/p")).Val(); ttl > 2*time.Second || ttl <= 0 {
		t.Fatalf("PTTL after Put %v, want the Put's ttl", ttl)
	}
}

func TestEveryKeyHasTTL(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	mustPut(t, e.b, "/a", mustToken(t, e.b, "/a"), page("/a", "a", time.Minute, "x", "y"))
	mustPut(t, e.b, "/b", mustToken(t, e.b, "/b"), page("/b", "b", isr.Never, "x"))
	mustToken(t, e.b, "/missing")
	if _, err := e.b.Invalidate(ctx, isr.ModeStale, "/a", "/nothing"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Invalidate(ctx, isr.ModeDelete, "/b"); err != nil {
		t.Fatal(err)
	}
	l, err := e.b.TryLock(ctx, "/a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	keys, err := e.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if ttl := e.rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has PTTL %v", k, ttl)
		}
	}
	if len(keys) != 7 { // 3 page hashes, 2 tag sets, seq, lock
		t.Fatalf("%d keys, want 7: %v", len(keys), keys)
	}
}

func TestInvalidateManyAfterScriptFlush(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	keys := make([]string, 300) // more than one pipeline batch
	for i := range keys {
		keys[i] = fmt.Sprintf("/p/%d", i)
		if i%2 == 0 {
			mustPut(t, e.b, keys[i], 1, page(keys[i], "x", time.Hour))
		}
	}
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	found, err := e.b.Invalidate(ctx, isr.ModeStale, keys...)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range found {
		if f != (i%2 == 0) {
			t.Fatalf("found[%d] = %v", i, f)
		}
	}
	if got := mustGet(t, e.b, keys[298]); !got.Stale() {
		t.Fatal("page not stale")
	}
}

func TestScriptFlush(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	for i := range 3 {
		if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		tok := mustToken(t, e.b, "/p")
		if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		mustPut(t, e.b, "/p", tok, page("/p", fmt.Sprint(i), time.Hour))
		if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, e.b, "/p"); string(got.Page.Body) != fmt.Sprint(i) {
			t.Fatalf("body %q", got.Page.Body)
		}
	}
}

func TestBadArguments(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	cases := map[string]func() error{
		"nil page": func() error { _, err := e.b.Put(ctx, "/p", 1, nil, time.Hour); return err },
		"zero ttl": func() error { _, err := e.b.Put(ctx, "/p", 1, page("/p", "", 0), 0); return err },
		"bad revalidate": func() error {
			_, err := e.b.Put(ctx, "/p", 1, page("/p", "", -2), time.Hour)
			return err
		},
		"bad mode":   func() error { _, err := e.b.Invalidate(ctx, isr.Mode(9), "/p"); return err },
		"lock ttl":   func() error { _, err := e.b.TryLock(ctx, "/p", 0); return err },
		"nil fn":     func() error { return e.b.Listen(ctx, nil) },
		"zero token": func() error { _, err := e.b.Put(ctx, "/p", 0, page("/p", "", 0), time.Hour); return err },
	}
	for name, fn := range cases {
		err := fn()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name != "zero token" && !bytes.HasPrefix([]byte(err.Error()), []byte("isrredis: ")) {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, err := e.b.Get(ctx, "/p"); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("a bad Put stored something: %v", err)
	}
}

func TestRedisDownErrors(t *testing.T) {
	e := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.srv.Kill()
	if _, err := e.b.Get(ctx, "/p"); err == nil || errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Get with Redis down: %v", err)
	}
	if _, err := e.b.Put(ctx, "/p", 1, page("/p", "", 0), time.Hour); err == nil || errors.Is(err, isr.ErrFenced) {
		t.Fatalf("Put with Redis down: %v", err)
	}
	if _, err := e.b.TryLock(ctx, "/p", time.Second); err == nil || errors.Is(err, isr.ErrLocked) {
		t.Fatalf("TryLock with Redis down: %v", err)
	}
}

func TestPrefix(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	other := isrredis.New(e.rdb, &isrredis.Options{Prefix: "other"})
	mustPut(t, e.b, "/p", 1, page("/p", "x", time.Hour))
	if _, err := other.Get(ctx, "/p"); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("prefixes share pages: %v", err)
	}
	if n := e.rdb.Exists(ctx, e.b.PageKey("/p")).Val(); n != 1 {
		t.Fatal("page not under the documented key")
	}
}
