package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestExpandPaths(t *testing.T) {
	t.Parallel()
	got, err := expandPaths("/posts/{1..3}, /, /p/{seq}/x,/a/{7..7}/b")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/posts/1", "/posts/2", "/posts/3", "/", "/p/{seq}/x", "/a/7/b"}
	if !slices.Equal(got, want) {
		t.Errorf("expandPaths = %q, want %q", got, want)
	}
	for _, bad := range []string{"", ",", "posts/1", "/p/{3..1}", "/p/{0..2000000}", "http://example.com/"} {
		if got, err := expandPaths(bad); err == nil {
			t.Errorf("expandPaths(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	f, err := parseFlags([]string{"-targets", "http://127.0.0.1:1,http://[::1]:2", "-paths", "/{1..2}", "-c", "3", "-n", "50", "-d", "5s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.load.Targets) != 2 || len(f.load.Paths) != 2 || f.load.Concurrency != 3 || f.load.Requests != 50 || f.load.Duration != 5*time.Second {
		t.Errorf("parseFlags = %+v", f.load)
	}
	for _, args := range [][]string{
		nil, // no target
		{"-targets", "http://192.168.1.1:8080"},
		{"-targets", "http://127.0.0.1:1,http://example.com"},
		{"-targets", "http://127.0.0.1:1", "-n", "0"},
		{"-targets", "http://127.0.0.1:1", "-d", "2h"},
		{"-targets", "http://127.0.0.1:1", "-c", "0"},
		{"-targets", "http://127.0.0.1:1", "extra"},
		{"-stack", "-runs", "0"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error, want one", args)
		}
	}
}
