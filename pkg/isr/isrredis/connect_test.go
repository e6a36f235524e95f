package isrredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/redis/go-redis/v9"
)

func TestParseMode(t *testing.T) {
	for _, s := range []string{"", "single", "cluster", "sentinel"} {
		if m, err := isrredis.ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := isrredis.ParseMode("Cluster"); err == nil {
		t.Error("ParseMode(Cluster): no error")
	}
}

// connect calls Connect and closes the client at the end of the test.
func connect(t *testing.T, rawURL string, mode isrredis.Mode) (redis.UniversalClient, isrredis.Mode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, got, err := isrredis.Connect(ctx, rawURL, &isrredis.ConnectOptions{Mode: mode, PoolSize: 4})
	if err != nil {
		t.Fatalf("Connect(%q, %q): %v", rawURL, mode, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, got
}

func TestConnectSingle(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []isrredis.Mode{isrredis.ModeDetect, isrredis.ModeSingle} {
		c, got := connect(t, srv.URL(), mode)
		if got != isrredis.ModeSingle {
			t.Fatalf("mode %q: got %q, want single", mode, got)
		}
		if _, ok := c.(*redis.Client); !ok {
			t.Fatalf("client %T, want *redis.Client", c)
		}
	}
	ctx := context.Background()
	for _, tt := range []struct{ url, want string }{
		{"redis://" + srv.Addr() + "?addr=" + srv.Addr(), "addr= seeds are for a Redis Cluster"},
		{"http://app:s3cret@" + srv.Addr(), "scheme must be redis or rediss"},
	} {
		_, _, err := isrredis.Connect(ctx, tt.url, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Connect(%q): %v, want an error saying %q", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Connect(%q): error %q shows the password", tt.url, err)
		}
	}
	// Cluster mode on a standalone server fails the cluster check.
	if _, _, err := isrredis.Connect(ctx, srv.URL(), &isrredis.ConnectOptions{Mode: isrredis.ModeCluster}); err == nil {
		t.Error("cluster mode on a standalone server: no error")
	}
}

func TestConnectSentinel(t *testing.T) {
	g := redistest.StartSentinel(t)
	c, got := connect(t, g.URL(), isrredis.ModeDetect)
	if got != isrredis.ModeSentinel {
		t.Fatalf("got mode %q, want sentinel", got)
	}
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := g.Servers[0].Client(t).Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("the write did not reach the primary: %q, %v", v, err)
	}
	// A sentinel's address without master_name= is refused with advice.
	_, _, err := isrredis.Connect(ctx, "redis://"+g.Sentinels[0].Addr(), nil)
	if err == nil || !strings.Contains(err.Error(), "master_name=") {
		t.Fatalf("Connect to a sentinel without master_name: %v", err)
	}
	// The URL's password= (the primary's) never shows in errors.
	_, _, err = isrredis.Connect(ctx, "redis://"+g.Sentinels[0].Addr()+"?master_name=nope&password=s3cret&dial_timeout=x", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad sentinel URL: %v", err)
	}
}
