package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const secret = "tok-3n/Q x+9:wZ"

// spellings returns the ways secret is written that must all be removed.
func spellings(sec string) map[string]string {
	js, _ := json.Marshal(sec)
	var pct, pctLower, pct2 strings.Builder
	for i := 0; i < len(sec); i++ {
		fmt.Fprintf(&pct, "%%%02X", sec[i])
		fmt.Fprintf(&pctLower, "%%%02x", sec[i])
		fmt.Fprintf(&pct2, "%%25%02X", sec[i])
	}
	mixed := []byte(sec)
	var mix strings.Builder
	for i, c := range mixed {
		if i%2 == 0 {
			fmt.Fprintf(&mix, "%%%02x", c)
		} else {
			mix.WriteByte(c)
		}
	}
	var uni strings.Builder
	for i := 0; i < len(sec); i++ {
		fmt.Fprintf(&uni, `\u%04x`, sec[i])
	}
	return map[string]string{
		"raw":          sec,
		"query":        url.QueryEscape(sec),
		"path":         url.PathEscape(sec),
		"all escaped":  pct.String(),
		"lower hex":    pctLower.String(),
		"double":       pct2.String(),
		"twice":        url.QueryEscape(url.QueryEscape(sec)),
		"mixed":        mix.String(),
		"json":         strings.Trim(string(js), `"`),
		"json unicode": uni.String(),
		"go quoted":    strings.Trim(strconv.QuoteToASCII(sec), `"`),
		"base64":       base64.StdEncoding.EncodeToString([]byte(sec)),
		"base64 url":   base64.RawURLEncoding.EncodeToString([]byte(sec)),
		"hex":          fmt.Sprintf("%x", sec),
	}
}

func TestScrubSpellings(t *testing.T) {
	t.Parallel()
	s := New(secret)
	for name, sp := range spellings(secret) {
		line := `{"path":"/api/revalidate?x=1;secret=` + sp + `&y"}`
		got := string(s.Scrub([]byte(line)))
		want := `{"path":"/api/revalidate?x=1;secret=` + Mask + `&y"}`
		if got != want {
			t.Errorf("%s: Scrub(%q) = %q, want %q", name, line, got, want)
		}
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	t.Parallel()
	s := New(secret, "", "second-secret-0123456789")
	for _, line := range []string{
		"",
		`{"msg":"request","path":"/posts/1?page=2","status":200}`,
		"second-secr",   // a prefix shorter than MinPartial
		"tok-3n/Q",      // the same, of the other secret
		`%zz\u12 \x4 \`, // broken escapes
	} {
		got := s.Scrub([]byte(line))
		if string(got) != line {
			t.Errorf("Scrub(%q) = %q, want it unchanged", line, got)
		}
	}
	var zero *Scrubber
	if got := zero.Scrub([]byte(secret)); string(got) != secret {
		t.Errorf("nil Scrubber changed %q into %q", secret, got)
	}
}

func TestScrubPartial(t *testing.T) {
	t.Parallel()
	long := "0123456789abcdefghijklmnopqrstuvwxyz"
	s := New(long, "short-one")
	cases := map[string]string{
		"bad path \"/x?secret=" + long[:20] + "…\"": "bad path \"/x?secret=" + Mask + "…\"",
		"cut " + long[:MinPartial] + " here":        "cut " + Mask + " here",
		"cut " + long[:MinPartial-1] + " here":      "cut " + long[:MinPartial-1] + " here",
		"short-on and short-one":                    "short-on and " + Mask,
		"twice " + long + long:                      "twice " + Mask + Mask,
	}
	for in, want := range cases {
		if got := string(s.Scrub([]byte(in))); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFollow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	id := "preview-id-one-0001"
	src := func() string { mu.Lock(); defer mu.Unlock(); return id }
	s := New(secret).Follow(src)
	set := func(v string) { mu.Lock(); id = v; mu.Unlock() }
	check := func(line, want string) {
		t.Helper()
		if got := string(s.Scrub([]byte(line))); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", line, got, want)
		}
	}
	check("a "+secret+" b preview-id-one-0001", "a "+Mask+" b "+Mask)
	set("preview-id-two-0002")
	check("new preview-id-two-0002, old preview-id-one-0001", "new "+Mask+", old "+Mask)
	for i := range MaxFollowed {
		set(fmt.Sprintf("preview-id-many-%04d", i))
		s.Scrub(nil)
	}
	check("long gone preview-id-one-0001", "long gone preview-id-one-0001")
	check("still "+secret, "still "+Mask)
	set("")
	check("preview-id-many-0007", Mask)
	var wg sync.WaitGroup
	for i := range 8 { // concurrent scrubs while the value changes
		wg.Go(func() {
			set(fmt.Sprintf("preview-id-race-%04d", i))
			s.Scrub([]byte("x"))
		})
	}
	wg.Wait()
}

// TestWriteSyncerZap logs the malformed queries at every level
// through a zap JSON core whose output is scrubbed, and finds no secret.
func TestWriteSyncerZap(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		New(secret).WriteSyncer(zapcore.AddSync(&buf)), zapcore.DebugLevel)
	log := zap.New(core)
	for _, q := range []string{
		"path=/x?secret=" + url.QueryEscape(secret),
		"path=/x;secret=" + secret,
		"x=1;secret=" + secret,
		"secret%3D" + url.QueryEscape(secret),
	} {
		log.Debug("request", zap.String("query", q))
		log.Info(q)
		log.Warn("failed", zap.Error(fmt.Errorf("parse %q: bad", q)))
		log.Error("bytes", zap.Binary("raw", []byte(q)), zap.Any("map", map[string]string{"q": q}))
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 16 {
		t.Fatalf("got %d lines, want 16:\n%s", n, out)
	}
	for name, sp := range spellings(secret) {
		if strings.Contains(out, sp) {
			t.Errorf("the log shows the secret %s (%q):\n%s", name, sp, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("scrubbing broke a JSON line: %s", line)
		}
	}
}

// FuzzScrub checks that whatever surrounds a secret, raw or escaped, the
// secret's bytes never survive. Secrets sharing a byte with Mask are left
// out: their removal can spell them again.
func FuzzScrub(f *testing.F) {
	f.Add("s3cr3t-t0ken", "/x?secret=", ";y", uint8(0))
	f.Add("p@ss w0rd!", "redis://:", "@host", uint8(1))
	f.Add("abc", "%", "%", uint8(2))
	f.Fuzz(func(t *testing.T, sec, before, after string, how uint8) {
		if sec == "" || strings.ContainsAny(sec, Mask) {
			t.Skip()
		}
		var sp string
		switch how % 4 {
		case 0:
			sp = sec
		case 1:
			sp = url.QueryEscape(sec)
		case 2:
			sp = url.PathEscape(sec)
		default:
			js, _ := json.Marshal(sec)
			sp = strings.Trim(string(js), `"`)
		}
		in := before + sp + after
		out := string(New(sec).Scrub([]byte(in)))
		if strings.Contains(out, sec) {
			t.Errorf("Scrub(%q) = %q still holds %q", in, out, sec)
		}
	})
}

// BenchmarkScrub scrubs a typical request log line (no secret in it) with
// four secrets, one of them followed: the cost every log line pays.
func BenchmarkScrub(b *testing.B) {
	line := []byte(`{"level":"info","ts":"2026-11-28T20:18:00.123456789Z","msg":"request","replica":"isrcache-7d9f8b6c5-x2x9z",` +
		`"method":"GET","path":"/posts/1234?page=2","cache":"HIT","status":200,"bytes":8192,"duration":0.000123,"remote":"10.0.0.12:53412"}` + "\n")
	s := New("k3y-Alpha-0123456789", "k3y-Bravo-9876543210", "pw-Charlie-555555555").
		Follow(func() string { return "0f1e2d3c4b5a69788796a5b4c3d2e1f0" })
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		s.Scrub(line)
	}
}
