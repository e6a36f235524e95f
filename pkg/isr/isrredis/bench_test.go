package isrredis_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// The benchmarks below measure one backend call against a real
// redis-server on loopback (started by redistest, one per benchmark): the
// round trip plus the Lua script. Pages are 10 KiB, as in pkg/isr's
// benchmarks and the load benchmark (make bench-load).

// benchBackend starts a redis-server and returns a backend on it.
func benchBackend(b *testing.B) *isrredis.Backend {
	b.Helper()
	srv := redistest.Start(b)
	return isrredis.New(srv.Client(b), &isrredis.Options{Prefix: "bench"})
}

// benchPage returns a 10 KiB page stored under key.
func benchPage(key string) *isr.Page {
	return &isr.Page{Key: key, Status: http.StatusOK, Body: make([]byte, 10<<10), Revalidate: time.Hour,
		Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Tags: []string{"posts", "post-1"}}
}

// benchStore stores a page under key and returns its fencing token.
func benchStore(b *testing.B, be *isrredis.Backend, key string) int64 {
	b.Helper()
	ctx := context.Background()
	tok, err := be.Token(ctx, key)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := be.Put(ctx, key, tok, benchPage(key), time.Hour); err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkRedisGet measures reading a stored 10 KiB page: what a replica
// does on a HIT that its hot cache does not hold.
func BenchmarkRedisGet(b *testing.B) {
	be := benchBackend(b)
	benchStore(b, be, "/posts/1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Get(ctx, "/posts/1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisGetParallel measures Get from many goroutines at once,
// sharing the client's connection pool.
func BenchmarkRedisGetParallel(b *testing.B) {
	be := benchBackend(b)
	benchStore(b, be, "/posts/1")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.Get(ctx, "/posts/1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRedisGetMissing measures the first lookup of a cold page.
func BenchmarkRedisGetMissing(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Get(ctx, "/missing"); !errors.Is(err, isr.ErrNotFound) {
			b.Fatalf("Get = %v, want ErrNotFound", err)
		}
	}
}

// BenchmarkRedisToken measures issuing a fencing token.
func BenchmarkRedisToken(b *testing.B) {
	be := benchBackend(b)
	benchStore(b, be, "/posts/1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Token(ctx, "/posts/1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisPut measures a fenced write of a 10 KiB page (with its
// tags and its announcement on the event channel), the token excluded.
func BenchmarkRedisPut(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	p := benchPage("/posts/1")
	const batch = 1024 // tokens are taken in batches, outside the timer
	toks := make([]int64, 0, batch)
	b.ReportAllocs()
	for b.Loop() {
		if len(toks) == 0 {
			b.StopTimer()
			for range batch {
				tok, err := be.Token(ctx, "/posts/1")
				if err != nil {
					b.Fatal(err)
				}
				toks = append(toks, tok)
			}
			b.StartTimer()
		}
		// Use the tokens in the order they were issued: each is newer than
		// the stored page's, so no write is fenced.
		tok := toks[0]
		toks = toks[1:]
		if _, err := be.Put(ctx, "/posts/1", tok, p, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisTryLock measures taking and releasing a free regeneration
// lock: the stale path's cost before a render starts.
func BenchmarkRedisTryLock(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := be.TryLock(ctx, "/posts/1", 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisTryLockHeld measures the answer to a replica that finds
// the lock held: it serves STALE without waiting.
func BenchmarkRedisTryLockHeld(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	if _, err := be.TryLock(ctx, "/posts/1", time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.TryLock(ctx, "/posts/1", time.Hour); !errors.Is(err, isr.ErrLocked) {
			b.Fatalf("TryLock = %v, want ErrLocked", err)
		}
	}
}

// BenchmarkRedisColdPath measures the backend calls of one cold MISS
// rendered by this replica: Get (not found), TryLock, Token, Put, Release.
// The render itself is not included.
func BenchmarkRedisColdPath(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		key := "/posts/" + strconv.Itoa(i)
		if _, err := be.Get(ctx, key); !errors.Is(err, isr.ErrNotFound) {
			b.Fatalf("Get = %v, want ErrNotFound", err)
		}
		l, err := be.TryLock(ctx, key, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := be.Token(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := be.Put(ctx, key, tok, benchPage(key), time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
