package isrredis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/redis/go-redis/v9"
)

// prefixes makes the prefix of each backend on a shared server unique.
var prefixes atomic.Int64

// env is a backend on a real redis-server, with a raw client to inspect it.
type env struct {
	srv *redistest.Server
	rdb *redis.Client
	b   *isrredis.Backend
}

// setup starts a redis-server and a backend on it. opts may be nil.
func setup(t *testing.T, opts *isrredis.Options) *env {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	return &env{srv: srv, rdb: rdb, b: isrredis.New(rdb, opts)}
}

// newBackend returns a backend on srv with a prefix of its own.
func newBackend(t *testing.T, srv *redistest.Server, opts *isrredis.Options) *isrredis.Backend {
	var o isrredis.Options
	if opts != nil {
		o = *opts
	}
	o.Prefix = fmt.Sprintf("t%d", prefixes.Add(1))
	return isrredis.New(srv.Client(t), &o)
}

func page(key, body string, rev time.Duration, tags ...string) *isr.Page {
	return &isr.Page{Key: key, Status: 200, Body: []byte(body), Revalidate: rev, Tags: tags}
}

func mustToken(t *testing.T, s isr.Store, key string) int64 {
	t.Helper()
	n, err := s.Token(context.Background(), key)
	if err != nil {
		t.Fatalf("Token(%q): %v", key, err)
	}
	return n
}

func mustPut(t *testing.T, s isr.Store, key string, tok int64, p *isr.Page) bool {
	t.Helper()
	fresh, err := s.Put(context.Background(), key, tok, p, time.Hour)
	if err != nil {
		t.Fatalf("Put(%q, %d): %v", key, tok, err)
	}
	return fresh
}

func mustGet(t *testing.T, s isr.Store, key string) *isr.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

// eventually polls cond every 10ms until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
