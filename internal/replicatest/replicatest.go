// Package replicatest starts in-process isrcache replicas for tests, wired
// as cmd/isrcache wires them: each has its own go-redis client and isrredis
// backend on a real Redis, an isr.Handler with its Run goroutine, and
// server.New behind an httptest server on 127.0.0.1. Replicas stop at the
// end of the test, and print their logs if it failed.
package replicatest

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/internal/server"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// Config configures a replica.
type Config struct {
	// RedisURL is the store, as ISR_REDIS_URL reads it. Required.
	RedisURL string
	// OriginURL is the origin's base URL. Required.
	OriginURL string
	// Secret is the revalidate token; empty disables the endpoint.
	Secret string
	// Options are the engine's options. Backend, Origin, Next, Logger (and
	// Budget, with Budget below) are set by Start; the rest is passed as is.
	Options isr.Options
	// Wrap, if set, wraps the replica's Redis backend, for fault
	// injection. It is called once per replica.
	Wrap func(name string, b *isrredis.Backend) isr.Backend
	// Dial, if set, dials the replica's Redis connections instead of
	// go-redis, for network faults.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Budget, if positive, gives the replica an isrredis.Budget of that
	// many slots, shared through Redis by the replicas that have one.
	Budget int
}

// A Replica is a running in-process replica.
type Replica struct {
	Name    string
	URL     string // base URL, http://127.0.0.1:port
	Backend *isrredis.Backend
	Redis   redis.UniversalClient // the client under Backend
	Handler *isr.Handler
	Logs    *LogBuffer
}

// subscribeWait bounds how long Start waits for the replica's event
// subscription.
const subscribeWait = 10 * time.Second

// Start starts the replica name and returns once its event subscription is
// confirmed (it applied the Reset event every subscription starts with).
func Start(t testing.TB, name string, cfg Config) *Replica {
	t.Helper()
	cctx, ccancel := context.WithTimeout(t.Context(), subscribeWait)
	rdb, mode, err := isrredis.Connect(cctx, cfg.RedisURL, &isrredis.ConnectOptions{PoolSize: 32, Dialer: cfg.Dial})
	ccancel()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	be := isrredis.New(rdb, &isrredis.Options{Mode: mode})
	var backend isr.Backend = be
	if cfg.Wrap != nil {
		backend = cfg.Wrap(name, be)
	}
	originURL, err := url.Parse(cfg.OriginURL)
	if err != nil {
		t.Fatalf("%s: origin: %v", name, err)
	}
	logs := &LogBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(logs), zapcore.DebugLevel)).Named(name)
	o := cfg.Options
	o.Backend = backend
	o.Origin = &isr.HTTPOrigin{URL: originURL}
	o.Next = httputil.NewSingleHostReverseProxy(originURL)
	o.Logger = log
	if cfg.Budget > 0 {
		o.Budget = isrredis.NewBudget(rdb, "", cfg.Budget)
	}
	h, err := isr.New(o)
	if err != nil {
		t.Fatalf("%s: isr.New: %v", name, err)
	}
	ts := httptest.NewServer(server.New(server.Options{Handler: h, Secret: cfg.Secret, Logger: log}))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		ts.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.Shutdown(sctx); err != nil {
			t.Errorf("%s: Shutdown: %v", name, err)
		}
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
		_ = rdb.Close()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs)
		}
	})
	for deadline := time.Now().Add(subscribeWait); be.Stats().Resets == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no Reset event after %v: the event subscription is not confirmed", name, subscribeWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Replica{Name: name, URL: ts.URL, Backend: be, Redis: rdb, Handler: h, Logs: logs}
}

// LogBuffer is a goroutine-safe buffer a replica's log is written to.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
