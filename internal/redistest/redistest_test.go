package redistest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
)

func TestStartRestartKill(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t, redistest.WithArgs("--maxmemory", "64mb"))
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.URL() != "redis://"+s.Addr()+"/0" {
		t.Fatalf("Addr %q URL %q", s.Addr(), s.URL())
	}
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	mm, err := c.ConfigGet(ctx, "maxmemory").Result()
	if err != nil || mm["maxmemory"] != "67108864" {
		t.Fatalf("maxmemory = %v, %v", mm, err)
	}
	if err := c.Do(ctx, "DEBUG", "SLEEP", "0").Err(); err != nil {
		t.Fatalf("DEBUG is not enabled: %v", err)
	}

	s.Restart()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("data survived a restart: persistence is on")
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}

	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping after kill succeeded")
	}
	s.Kill() // a no-op
	s.Restart()
	s.Stop()
	s.Stop()
}

func TestPauseResume(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	c := s.Client(t)
	s.Pause()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping of a paused server succeeded")
	}
	s.Resume()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after resume: %v", err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on %s", a.Addr())
	}
}
