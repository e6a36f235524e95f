package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// replicaConfig configures in-process replicas.
type replicaConfig struct {
	// Options are the engine's options. Backend, Origin, Next and Logger
	// are set by the harness; the rest is passed as is.
	Options isr.Options
	// Wrap, if set, wraps the replica's Redis backend, for fault
	// injection. It is called once per replica.
	Wrap func(name string, b *isrredis.Backend) isr.Backend
	// Dial, if set, dials the replica's Redis connections instead of
	// go-redis, for network faults (toxipubsub_test.go).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Budget, if positive, gives every replica an isrredis.Budget of that
	// many slots, shared through Redis.
	Budget int
}

// replica is an in-process isrcache replica: its own go-redis client and
// isrredis backend, an isr.Handler with its Run goroutine, and server.New
// behind an httptest server on 127.0.0.1, wired as cmd/isrcache wires them.
type replica struct {
	Name    string
	URL     string // base URL, http://127.0.0.1:port
	Backend *isrredis.Backend
	Redis   redis.UniversalClient // the client under Backend
	Handler *isr.Handler
	Logs    *logBuffer
}

// startReplicas starts n replicas named r1..rn with cfg, and returns once
// every one of them is subscribed to the event channel. They stop at the
// end of the test; their logs are printed if it failed.
func (c *cluster) startReplicas(t *testing.T, n int, cfg replicaConfig) []*replica {
	t.Helper()
	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = c.startReplica(t, fmt.Sprintf("r%d", i+1), cfg)
	}
	return reps
}

// startReplica starts one replica and waits for its event subscription.
func (c *cluster) startReplica(t *testing.T, name string, cfg replicaConfig) *replica {
	t.Helper()
	cctx, ccancel := context.WithTimeout(t.Context(), 10*time.Second)
	rdb, mode, err := isrredis.Connect(cctx, c.redisURL, &isrredis.ConnectOptions{PoolSize: 32, Dialer: cfg.Dial})
	ccancel()
	if err != nil {
		t.Fatal(err)
	}
	be := isrredis.New(rdb, &isrredis.Options{Mode: mode})
	var backend isr.Backend = be
	if cfg.Wrap != nil {
		backend = cfg.Wrap(name, be)
	}
	originURL, err := url.Parse(c.origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
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
	ts := httptest.NewServer(server.New(server.Options{Handler: h, Secret: testSecret, Logger: log}))
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
	r := &replica{Name: name, URL: ts.URL, Backend: be, Redis: rdb, Handler: h, Logs: logs}
	eventually(t, name+" subscribed to events", func() error {
		if be.Stats().Resets == 0 {
			return errors.New("no Reset event yet: the subscription is not confirmed")
		}
		return nil
	})
	return r
}

// logBuffer is a goroutine-safe buffer that a zap core writes to.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
