package main

import (
	"context"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"http://127.0.0.1:8080",
		"http://127.0.0.1:8080/",
		"https://127.1.2.3",
		"http://127.255.255.254:1",
		"http://localhost:3000",
		"http://LOCALHOST:3000",
		"http://[::1]:8080",
		"http://[::ffff:127.0.0.1]:8080",
		"http://127.0.0.1:8080/prefix",
	} {
		if _, err := checkTarget(raw); err != nil {
			t.Errorf("checkTarget(%q) = %v, want nil", raw, err)
		}
	}
	for _, raw := range []string{
		"http://10.0.0.1:8080",
		"http://128.0.0.1",
		"http://0.0.0.0:8080",
		"http://[::]:8080",
		"http://[::2]:8080",
		"http://[fe80::1%25lo]:8080",
		"http://example.com",
		"http://localhost.example.com",
		"http://127.0.0.1.nip.io",
		"http://localhost@example.com",
		"http://example.com#@127.0.0.1",
		"http://[::ffff:10.0.0.1]:80",
		"ftp://127.0.0.1",
		"127.0.0.1:8080",
		"//127.0.0.1:8080",
		"http://127.0.0.1:8080?x=1",
		"http://user:pass@127.0.0.1:8080",
		"",
	} {
		if u, err := checkTarget(raw); err == nil {
			t.Errorf("checkTarget(%q) = %v, nil; want an error", raw, u)
		}
	}
}

func TestCheckTargetTrimsSlash(t *testing.T) {
	t.Parallel()
	u, err := checkTarget("http://127.0.0.1:8080/")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "http://127.0.0.1:8080" {
		t.Errorf("checkTarget = %q, want no trailing slash", got)
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":  true,
		"127.9.9.9:80":  true,
		"[::1]:80":      true,
		"10.1.1.1:80":   false,
		"[2001::1]:80":  false,
		"localhost:80":  false, // the dialer sees resolved addresses only
		"no-port":       false,
		"0.0.0.0:80":    false,
		"192.168.0.1:1": false,
	} {
		err := loopbackOnly(context.Background(), "tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want allowed=%v", addr, err, ok)
		}
	}
}
