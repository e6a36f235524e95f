package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/isrcache/isrcache/cmd/demo-origin/blog"
	"go.uber.org/zap/zapcore"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"defaults", nil, nil, config{addr: ":3000", logLevel: zapcore.InfoLevel,
			blog: blog.Config{Settings: blog.Settings{Fail: blog.FailNone, Version: 1, SMaxAge: 10 * time.Second}, Posts: 100}}},
		{"environment", nil, map[string]string{"DEMO_ADDR": "127.0.0.1:4000", "DEMO_DELAY": "2s", "DEMO_FAIL": "truncate",
			"DEMO_SMAXAGE": "0", "DEMO_POSTS": "5", "DEMO_PADDING": "100", "DEMO_LOG_LEVEL": "debug"},
			config{addr: "127.0.0.1:4000", logLevel: zapcore.DebugLevel,
				blog: blog.Config{Settings: blog.Settings{Delay: 2 * time.Second, Fail: blog.FailTruncate, Version: 1}, Posts: 5, Padding: 100}}},
		{"flags win", []string{"-addr", ":5000", "-fail", "500", "-smaxage", "1m"},
			map[string]string{"DEMO_ADDR": ":4000", "DEMO_FAIL": "truncate", "DEMO_SMAXAGE": "3"},
			config{addr: ":5000", logLevel: zapcore.InfoLevel,
				blog: blog.Config{Settings: blog.Settings{Fail: blog.Fail500, Version: 1, SMaxAge: time.Minute}, Posts: 100}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if got.addr != tc.want.addr || got.logLevel != tc.want.logLevel || got.blog.Settings != tc.want.blog.Settings ||
				got.blog.Posts != tc.want.blog.Posts || got.blog.Padding != tc.want.blog.Padding {
				t.Errorf("parseConfig = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"bad delay", nil, map[string]string{"DEMO_DELAY": "soon"}},
		{"bad fail", []string{"-fail", "502"}, nil},
		{"negative smaxage", nil, map[string]string{"DEMO_SMAXAGE": "-5"}},
		{"bad smaxage", nil, map[string]string{"DEMO_SMAXAGE": "ten"}},
		{"zero posts", []string{"-posts", "0"}, nil},
		{"bad log level", nil, map[string]string{"DEMO_LOG_LEVEL": "loud"}},
		{"unknown flag", []string{"-port", "3000"}, nil},
		{"stray argument", []string{"serve"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard); err == nil {
				t.Error("parseConfig = nil error, want one")
			}
		})
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-level", "error"}, func(string) string { return "" })
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v, want nil after the context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context ended")
	}
}
