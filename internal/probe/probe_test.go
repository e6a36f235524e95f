package probe

import "testing"

func TestProbeURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		":8080":          "http://127.0.0.1:8080/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://127.0.0.1:8080/readyz",
		"127.0.0.1:9000": "http://127.0.0.1:9000/readyz",
		"[::1]:9000":     "http://[::1]:9000/readyz",
		"localhost:8080": "http://localhost:8080/readyz",
	}
	for addr, want := range tests {
		if got, err := URL(addr, "/readyz"); err != nil || got != want {
			t.Errorf("URL(%q): got %q, %v; want %q", addr, got, err, want)
		}
	}
}

func TestURLNeedsAFixedPort(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1", "nonsense"} {
		if got, err := URL(addr, "/readyz"); err == nil {
			t.Errorf("URL(%q) = %q, want an error", addr, got)
		}
	}
}
