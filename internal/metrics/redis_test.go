package metrics

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
)

func TestRedisHook(t *testing.T) {
	m, reg := newTestMetrics(t)
	rdb := redistest.Start(t).Client(t)
	rdb.AddHook(m.RedisHook())
	ctx := t.Context()

	if err := rdb.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing: %v, want redis.Nil", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, "h", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "h").Err(); err == nil {
		t.Fatal("GET of a hash: no WRONGTYPE error")
	}
	script := redis.NewScript("return 1")
	for range 2 { // NOSCRIPT then EVAL, then EVALSHA alone
		if err := script.Run(ctx, rdb, nil).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pipe := rdb.Pipeline()
	pipe.Get(ctx, "missing")
	pipe.Ping(ctx)
	if _, err := pipe.Exec(ctx); !errors.Is(err, redis.Nil) {
		t.Fatalf("pipeline: %v, want redis.Nil", err)
	}
	pipe.Get(ctx, "h")
	if _, err := pipe.Exec(ctx); err == nil {
		t.Fatal("pipeline GET of a hash: no error")
	}

	// A Redis that is not there: every command fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	down.AddHook(m.RedisHook())
	if err := down.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING of a closed port succeeded")
	}

	for _, c := range []struct {
		cmd, result string
		want        float64
	}{
		{"get", "ok", 1}, {"get", "error", 1}, {"ping", "ok", 1}, {"ping", "error", 1}, {"other", "ok", 1},
		{"evalsha", "ok", 2}, {"evalsha", "error", 0}, {"eval", "ok", 1}, {"pipeline", "ok", 1}, {"pipeline", "error", 1},
	} {
		if got := testutil.ToFloat64(m.redisCommands.WithLabelValues(c.cmd, c.result)); got != c.want {
			t.Errorf("isr_redis_commands_total{cmd=%q,result=%q} = %v, want %v", c.cmd, c.result, got, c.want)
		}
	}
	for cmd, want := range map[string]float64{"get": 1, "ping": 1, "pipeline": 1, "evalsha": 0, "other": 0} {
		if got := testutil.ToFloat64(m.redisErrors.WithLabelValues(cmd)); got != want {
			t.Errorf("isr_redis_errors_total{cmd=%q} = %v, want %v", cmd, got, want)
		}
	}
	// New connections' setup (HELLO, CLIENT SETINFO, which Redis 7.0
	// rejects) is counted as connect, and its error replies are no failure.
	if got := testutil.ToFloat64(m.redisCommands.WithLabelValues("connect", "ok")); got < 2 {
		t.Errorf("isr_redis_commands_total{cmd=connect,result=ok} = %v, want at least 2", got)
	}
	if got := testutil.ToFloat64(m.redisErrors.WithLabelValues("connect")); got != 0 {
		t.Errorf("isr_redis_errors_total{cmd=connect} = %v, want 0", got)
	}
	if n := testutil.CollectAndCount(m.redisDuration); n != 7 {
		t.Errorf("isr_redis_duration_seconds has %d series, want 7 (get, ping, other, evalsha, eval, pipeline, connect)", n)
	}
	assertNoPathLabel(t, reg)
}
