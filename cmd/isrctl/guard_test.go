package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// tripwire returns the URL of a server that fails the test if it gets any
// request.
func tripwire(t *testing.T) string {
	t.Helper()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "tripwire", http.StatusTeapot)
	}))
	t.Cleanup(func() {
		ts.Close()
		if n := hits.Load(); n > 0 {
			t.Errorf("the tripwire server got %d requests; want none", n)
		}
	})
	return ts.URL
}

func TestWrongToken(t *testing.T) {
	t.Parallel()
	s := newStack(t, 1)
	get(t, s.replicas[0], "/posts/1")
	wrongFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(wrongFile, []byte("Wrong-File-T0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rightFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(rightFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const refused = "the server answered 401: Invalid token (the token was refused: check ISR_REVALIDATE_SECRET or the secret file"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stderr
	}{
		{"revalidate, env", map[string]string{"ISR_REVALIDATE_SECRET": "Wrong-Env-T0ken"}, []string{"revalidate", "/posts/1"}, 1, refused},
		{"purge, env", map[string]string{"ISR_REVALIDATE_SECRET": "Wrong-Env-T0ken"}, []string{"purge", "/posts/1"}, 1, refused},
		{"inspect, env", map[string]string{"ISR_REVALIDATE_SECRET": "Wrong-Env-T0ken"}, []string{"inspect", "/posts/1"}, 1, refused},
		{"-secret-file wins over the env", nil, []string{"-secret-file", wrongFile, "inspect", "/posts/1"}, 1, refused},
		{"ISR_REVALIDATE_SECRET_FILE", map[string]string{"ISR_REVALIDATE_SECRET": "", "ISR_REVALIDATE_SECRET_FILE": wrongFile}, []string{"inspect", "/posts/1"}, 1, refused},
		{"right file", map[string]string{"ISR_REVALIDATE_SECRET": ""}, []string{"inspect", "-secret-file", rightFile, "/posts/1"}, 0, ""},
		{"no token", map[string]string{"ISR_REVALIDATE_SECRET": ""}, []string{"revalidate", "/posts/1"}, 2,
			"no token: set ISR_REVALIDATE_SECRET, or name a file holding it with -secret-file or ISR_REVALIDATE_SECRET_FILE"},
		{"missing file", map[string]string{"ISR_REVALIDATE_SECRET": ""}, []string{"-secret-file", "/nonexistent/token", "purge", "/posts/1"}, 2,
			"-secret-file: open /nonexistent/token: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.ctl(t, "", tt.env, tt.args...)
			for _, secret := range []string{"Wrong-File-T0ken", "Wrong-Env-T0ken"} {
				if strings.Contains(res.stdout+res.stderr, secret) {
					t.Fatalf("the token %q was printed: %v", secret, res)
				}
			}
			if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
				t.Fatalf("%v\nwant exit %d and stderr with %q", res, tt.code, tt.want)
			}
		})
	}
	if n := s.origin.Renders("/posts/1"); n != 1 {
		t.Errorf("/posts/1 rendered %d times: a refused call changed something", n)
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ISRCTL_SERVER": tripwire(t), "ISR_REVALIDATE_SECRET": testSecret}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"relative", "", []string{"revalidate", "posts/1"}, `isr: bad path "posts/1": must start with /`},
		{"dot segment", "", []string{"revalidate", "/ok", "/a/../b"}, `isr: bad path "/a/../b": dot segment`},
		{"escaped dot segment", "", []string{"purge", "/a/%2e%2e/b"}, `isr: bad path "/a/%2e%2e/b": dot segment`},
		{"host", "", []string{"inspect", "//evil.example/x"}, `must not start with //`},
		{"control character", "", []string{"revalidate", "/a%0Ab"}, "control character"},
		{"bad query", "", []string{"revalidate", "/a?b=c d"}, "the query has a space"},
		{"stdin", "/ok\n../etc/passwd\n", []string{"revalidate", "-"}, `stdin line 2: isr: bad path "../etc/passwd"`},
		{"prerender file", "/ok\nhttp://x.example/a/../b\n", []string{"prerender", "-f", "-"}, `- line 2: isr: bad path "/a/../b": dot segment`},
		{"prerender URL", "", []string{"prerender", "ftp://x.example/a"}, `bad path "ftp://x.example/a": must start with /`},
		{"bad tag", "", []string{"revalidate", "-tag", "a b"}, `tag "a b" must be 1 to 128 bytes`},
		{"bad mode", "", []string{"revalidate", "-mode", "soon", "/a"}, `-mode "soon" must be eager, stale or delete`},
		{"nothing", "", []string{"revalidate"}, "nothing to do"},
		{"two inspect paths", "", []string{"inspect", "/a", "/b"}, "give one path"},
		{"-c too high", "", []string{"prerender", "-c", "65", "/a"}, "-c 65 must be 1 to 64"},
		{"unknown command", "", []string{"flush"}, `unknown command "flush"`},
		{"bad server", "", []string{"-server", "127.0.0.1:8080", "purge", "/a"}, `-server "127.0.0.1:8080" must be an http:// or https:// URL`},
		{"unknown flag", "", []string{"purge", "-mode", "eager", "/a"}, "flag provided but not defined: -mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ctl(t, tt.stdin, env, tt.args...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
				t.Fatalf("%v\nwant exit 2 and stderr with %q", res, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"help"}, {"prerender", "-h"}} {
		res := ctl(t, "", nil, args...)
		if res.code != 0 || !strings.Contains(res.stderr, "-server") {
			t.Errorf("isrctl %v: %v", args, res)
		}
	}
}
