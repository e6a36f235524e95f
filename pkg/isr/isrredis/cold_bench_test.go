package isrredis_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// countCalls is a go-redis hook counting round trips (a pipeline is one).
type countCalls struct{ n atomic.Int64 }

func (c *countCalls) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *countCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkHandlerColdMiss measures what a cold page costs a Redis-backed
// replica over the render itself: the Handler answers a new path each
// time, the origin renders a 10 KiB HTML page in process and at once, so
// the time per op is the overhead (store lookup, lock, token, compression,
// fenced write, lock release, the answer). redis-calls/op counts the round
// trips to Redis.
func BenchmarkHandlerColdMiss(b *testing.B) {
	srv := redistest.Start(b)
	client := srv.Client(b)
	calls := &countCalls{}
	client.AddHook(calls)
	page := []byte("<!doctype html><html><body>" + strings.Repeat("<p class=\"text\">a paragraph of a post, with <a href=\"/t/1\">a link</a> in it.</p>\n", 130) + "</body></html>")
	origin := isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"},
			"Cache-Control": {"s-maxage=60"}}, Body: page}, nil
	})
	h, err := isr.New(isr.Options{Backend: isrredis.New(client, &isrredis.Options{Prefix: "bench"}), Origin: origin,
		Next: http.NotFoundHandler()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	i := 0
	calls.n.Store(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/posts/"+strconv.Itoa(i), nil))
		if rec.Header().Get("X-ISR-Cache") != "MISS" {
			b.Fatalf("answer %d %v, want a MISS", rec.Code, rec.Header())
		}
	}
	b.ReportMetric(float64(calls.n.Load())/float64(b.N), "redis-calls/op")
}
