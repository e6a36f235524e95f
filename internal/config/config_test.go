package config

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// base is the smallest valid environment.
func base(extra ...string) map[string]string {
	m := map[string]string{"ISR_ORIGIN": "http://127.0.0.1:3000"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(base()))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr: ":8080", Revalidate: 60 * time.Second, Expire: 168 * time.Hour,
		RenderTimeout: 10 * time.Second, L1Bytes: 64 << 20, L1MaxAge: 2 * time.Second,
		KeyPrefix: "isr", DrainDelay: 5 * time.Second, ShutdownTimeout: 20 * time.Second,
		LogLevel: zapcore.InfoLevel, RegenBudget: 32, RevalidateRate: 10, RevalidateRateTotal: 50,
	}
	if c.Origin.String() != "http://127.0.0.1:3000" {
		t.Errorf("Origin: got %v, want http://127.0.0.1:3000", c.Origin)
	}
	c.Origin = nil
	if c.Addr != want.Addr || c.Revalidate != want.Revalidate || c.Expire != want.Expire ||
		c.RenderTimeout != want.RenderTimeout || c.L1Bytes != want.L1Bytes || c.L1MaxAge != want.L1MaxAge ||
		c.KeyPrefix != want.KeyPrefix || c.DrainDelay != want.DrainDelay ||
		c.ShutdownTimeout != want.ShutdownTimeout || c.LogLevel != want.LogLevel ||
		c.RegenBudget != want.RegenBudget || c.RedisMode != isrredis.ModeDetect ||
		c.RevalidateRate != want.RevalidateRate || c.RevalidateRateTotal != want.RevalidateRateTotal ||
		c.RevalidateSecretPrevious != "" || c.MetricsAddr != "" || c.RedisURL != "" || c.RevalidateSecret != "" || c.RoutesFile != "" || c.Routes != nil {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

// TestLoadValues sets each variable, by environment and by flag, and checks
// the field it lands in.
func TestLoadValues(t *testing.T) {
	t.Parallel()
	get := map[string]func(Config) any{
		"addr":             func(c Config) any { return c.Addr },
		"metrics-addr":     func(c Config) any { return c.MetricsAddr },
		"origin":           func(c Config) any { return c.Origin.String() },
		"redis-url":        func(c Config) any { return c.RedisURL },
		"revalidate":       func(c Config) any { return c.Revalidate },
		"expire":           func(c Config) any { return c.Expire },
		"render-timeout":   func(c Config) any { return c.RenderTimeout },
		"l1-bytes":         func(c Config) any { return c.L1Bytes },
		"l1-max-age":       func(c Config) any { return c.L1MaxAge },
		"key-prefix":       func(c Config) any { return c.KeyPrefix },
		"drain-delay":      func(c Config) any { return c.DrainDelay },
		"shutdown-timeout": func(c Config) any { return c.ShutdownTimeout },
		"log-level":        func(c Config) any { return c.LogLevel },
		"redis-mode":       func(c Config) any { return c.RedisMode },
		"regen-budget":     func(c Config) any { return c.RegenBudget },
		"revalidate-secret": func(c Config) any {
			return c.RevalidateSecret
		},
		"revalidate-rate":       func(c Config) any { return c.RevalidateRate },
		"revalidate-rate-total": func(c Config) any { return c.RevalidateRateTotal },
		"revalidate-wait-timeout": func(c Config) any {
			return c.RevalidateWaitTimeout
		},
	}
	tests := []struct {
		flag, env, raw string
		want           any
	}{
		{"addr", "ISR_ADDR", "127.0.0.1:0", "127.0.0.1:0"},
		{"metrics-addr", "ISR_METRICS_ADDR", ":9090", ":9090"},
		{"metrics-addr", "ISR_METRICS_ADDR", "127.0.0.1:0", "127.0.0.1:0"},
		{"metrics-addr", "ISR_METRICS_ADDR", "[::1]:9090", "[::1]:9090"},
		{"origin", "ISR_ORIGIN", "https://origin.example/base", "https://origin.example/base"},
		{"redis-url", "ISR_REDIS_URL", "redis://:pw@127.0.0.1:6379/0", "redis://:pw@127.0.0.1:6379/0"},
		{"redis-url", "ISR_REDIS_URL", "rediss://user:pw@redis.example:6380", "rediss://user:pw@redis.example:6380"},
		{"redis-url", "ISR_REDIS_URL", "redis://127.0.0.1:7000?addr=127.0.0.1:7001", "redis://127.0.0.1:7000?addr=127.0.0.1:7001"},
		{"redis-mode", "ISR_REDIS_MODE", "cluster", isrredis.ModeCluster},
		{"redis-mode", "ISR_REDIS_MODE", "sentinel", isrredis.ModeSentinel},
		{"redis-mode", "ISR_REDIS_MODE", "single", isrredis.ModeSingle},
		{"regen-budget", "ISR_REGEN_BUDGET", "8", 8},
		{"revalidate-secret", "ISR_REVALIDATE_SECRET", "s3cret", "s3cret"},
		{"revalidate-rate", "ISR_REVALIDATE_RATE", "0.5", 0.5},
		{"revalidate-rate", "ISR_REVALIDATE_RATE", "0", 0.0},
		{"revalidate-rate-total", "ISR_REVALIDATE_RATE_TOTAL", "200", 200.0},
		{"revalidate", "ISR_REVALIDATE", "30", 30 * time.Second},
		{"revalidate", "ISR_REVALIDATE", "90s", 90 * time.Second},
		{"revalidate", "ISR_REVALIDATE", "1h30m", 90 * time.Minute},
		{"expire", "ISR_EXPIRE", "24h", 24 * time.Hour},
		{"expire", "ISR_EXPIRE", "3600", time.Hour},
		{"render-timeout", "ISR_RENDER_TIMEOUT", "2500ms", 2500 * time.Millisecond},
		{"l1-bytes", "ISR_L1_BYTES", "1048576", int64(1 << 20)},
		{"l1-bytes", "ISR_L1_BYTES", "0", int64(64 << 20)},
		{"l1-bytes", "ISR_L1_BYTES", "-1", int64(-1)},
		{"l1-max-age", "ISR_L1_MAX_AGE", "500ms", 500 * time.Millisecond},
		{"key-prefix", "ISR_KEY_PREFIX", "shop:v2", "shop:v2"},
		{"drain-delay", "ISR_DRAIN_DELAY", "0", time.Duration(0)},
		{"drain-delay", "ISR_DRAIN_DELAY", "10s", 10 * time.Second},
		{"revalidate-wait-timeout", "ISR_REVALIDATE_WAIT_TIMEOUT", "500ms", 500 * time.Millisecond},
		{"shutdown-timeout", "ISR_SHUTDOWN_TIMEOUT", "45s", 45 * time.Second},
		{"log-level", "ISR_LOG_LEVEL", "debug", zapcore.DebugLevel},
		{"log-level", "ISR_LOG_LEVEL", "WARN", zapcore.WarnLevel},
		{"log-level", "ISR_LOG_LEVEL", "error", zapcore.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.raw, func(t *testing.T) {
			t.Parallel()
			c, err := Load(nil, env(base(tt.env, tt.raw)))
			if err != nil {
				t.Fatalf("env: %v", err)
			}
			if got := get[tt.flag](c); got != tt.want {
				t.Errorf("env: got %v, want %v", got, tt.want)
			}
			c, err = Load([]string{"-" + tt.flag + "=" + tt.raw}, env(base()))
			if err != nil {
				t.Fatalf("flag: %v", err)
			}
			if got := get[tt.flag](c); got != tt.want {
				t.Errorf("flag: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadFlagWinsOverEnv(t *testing.T) {
	t.Parallel()
	e := env(base("ISR_ADDR", ":9000", "ISR_REVALIDATE", "5", "ISR_REDIS_URL", "redis://127.0.0.1:6379"))
	c, err := Load([]string{"-addr", "127.0.0.1:0", "-revalidate=7s", "-redis-url="}, e)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" || c.Revalidate != 7*time.Second || c.RedisURL != "" {
		t.Errorf("got addr %q revalidate %v redis %q, want the flags' values", c.Addr, c.Revalidate, c.RedisURL)
	}
}

func TestLoadSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("tok en\t\r\n\n "), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, env(base("ISR_REVALIDATE_SECRET_FILE", file)))
	if err != nil {
		t.Fatal(err)
	}
	if c.RevalidateSecret != "tok en" {
		t.Errorf("got %q, want %q", c.RevalidateSecret, "tok en")
	}
	c, err = Load([]string{"-revalidate-secret-file", file}, env(base()))
	if err != nil || c.RevalidateSecret != "tok en" {
		t.Errorf("flag: got %q, %v, want %q", c.RevalidateSecret, err, "tok en")
	}
}

func TestLoadPreviousSecretAndSecrets(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "previous")
	if err := os.WriteFile(file, []byte("old-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"-revalidate-secret-previous-file", file}, env(base(
		"ISR_REVALIDATE_SECRET", "new-token", "ISR_REDIS_URL", "redis://user:hunter2@127.0.0.1:6379")))
	if err != nil {
		t.Fatal(err)
	}
	if c.RevalidateSecretPrevious != "old-token" {
		t.Errorf("got previous %q, want old-token", c.RevalidateSecretPrevious)
	}
	if got, want := c.Secrets(), []string{"new-token", "old-token", "hunter2"}; !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
	c, err = Load(nil, env(base("ISR_REDIS_URL",
		"redis://127.0.0.1:26379/0?master_name=m&password=pw1&sentinel_password=pw2")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Secrets(), []string{"pw1", "pw2"}; !slices.Equal(got, want) {
		t.Errorf("sentinel URL: Secrets() = %q, want %q", got, want)
	}
	c, err = Load(nil, env(base()))
	if err != nil || len(c.Secrets()) != 0 {
		t.Errorf("no secrets set: Secrets() = %q, %v, want none", c.Secrets(), err)
	}
}

func TestLoadNextPreviewID(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "preview-id")
	if err := os.WriteFile(file, []byte("0f3c9a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
	}{
		{nil, base("ISR_NEXTJS_PREVIEW_ID", "0f3c9a")},
		{nil, base("ISR_NEXTJS_PREVIEW_ID_FILE", file)},
		{[]string{"-nextjs-preview-id-file", file}, base()},
	} {
		if c, err := Load(tt.args, env(tt.env)); err != nil || c.NextPreviewID != "0f3c9a" {
			t.Errorf("Load(%q, %q): NextPreviewID %q, %v; want 0f3c9a", tt.args, tt.env, c.NextPreviewID, err)
		} else if !slices.Contains(c.Secrets(), "0f3c9a") {
			t.Errorf("Secrets() = %q does not list the preview id: logs would not redact it", c.Secrets())
		}
	}
	_, err := Load(nil, env(base("ISR_NEXTJS_PREVIEW_ID", "a", "ISR_NEXTJS_PREVIEW_ID_FILE", file)))
	if err == nil || !strings.Contains(err.Error(), "both ISR_NEXTJS_PREVIEW_ID and ISR_NEXTJS_PREVIEW_ID_FILE") || strings.Contains(err.Error(), "0f3c9a") {
		t.Errorf("both set: %v, want an error naming both and not the id", err)
	}
}

func TestLoadTrustedProxies(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"-trusted-proxies", "10.1.2.3/8, 192.0.2.7,fd00::/8"}, env(base()))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
	if c, err := Load(nil, env(base())); err != nil || c.TrustedProxies != nil {
		t.Errorf("default: %v, %v; want none", c.TrustedProxies, err)
	}
}

func TestLoadRoutesFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(file, []byte("routes:\n  - pattern: /posts/{id}\n    revalidate: 30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, env(base("ISR_ROUTES", file)))
	if err != nil {
		t.Fatal(err)
	}
	if c.RoutesFile != file || len(c.Routes) != 1 || c.Routes[0].Revalidate != 30*time.Second {
		t.Errorf("got %q %+v, want one route with revalidate 30s", c.RoutesFile, c.Routes)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	badRoutes := filepath.Join(dir, "bad.yaml")
	for name, data := range map[string]string{empty: " \n", badRoutes: "routes:\n  - pattern: /a\n    colour: red\n"} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the error
	}{
		{"origin missing", nil, map[string]string{}, "config: ISR_ORIGIN is required"},
		{"origin ftp", nil, base("ISR_ORIGIN", "ftp://x"), `config: ISR_ORIGIN "ftp://x" must be an http or https URL`},
		{"origin relative", nil, base("ISR_ORIGIN", "localhost:3000"), "must be an http or https URL"},
		{"origin no host", nil, base("ISR_ORIGIN", "http:///x"), "has no host"},
		{"origin query", nil, base("ISR_ORIGIN", "http://o/?a=b"), "must not have a query"},
		{"origin flag named", []string{"-origin", "ftp://x"}, base(), `config: -origin "ftp://x"`},
		{"origin password hidden", nil, base("ISR_ORIGIN", "ftp://u:hunter2@x"), `"ftp://u:xxxxx@x"`},
		{"addr", nil, base("ISR_ADDR", "8080"), `config: ISR_ADDR "8080" must be host:port`},
		{"metrics addr", nil, base("ISR_METRICS_ADDR", "9090"), `config: ISR_METRICS_ADDR "9090" must be host:port`},
		{"metrics addr flag", []string{"-metrics-addr=localhost"}, base(), `config: -metrics-addr "localhost" must be host:port`},
		{"metrics addr is addr", nil, base("ISR_METRICS_ADDR", ":8080"), `config: ISR_METRICS_ADDR ":8080" is the same as ISR_ADDR`},
		{"metrics addr is addr flags", []string{"-addr=:9000", "-metrics-addr=:9000"}, base(), `config: -metrics-addr ":9000" is the same as -addr`},
		{"redis scheme", nil, base("ISR_REDIS_URL", "http://:hunter2@r:6379"), `config: ISR_REDIS_URL "http://xxxxx@r:6379" must be a redis:// or rediss:// URL`},
		{"redis mode", nil, base("ISR_REDIS_MODE", "clustered"), `config: ISR_REDIS_MODE "clustered" must be single, cluster or sentinel`},
		{"regen budget zero", nil, base("ISR_REGEN_BUDGET", "0"), `config: ISR_REGEN_BUDGET "0" must be a whole number of regenerations, at least 1`},
		{"regen budget word", []string{"-regen-budget=many"}, base(), `config: -regen-budget "many"`},
		{"redis sentinel password hidden", nil, base("ISR_REDIS_URL", "http://s:26379?master_name=m&password=hunter2"), `"http://s:26379?master_name=m&password=xxxxx"`},
		{"redis no host", nil, base("ISR_REDIS_URL", "redis://"), "has no host"},
		{"redis unparsable", nil, base("ISR_REDIS_URL", "redis://:hunter2@r:port\x7f"), "config: ISR_REDIS_URL is not a valid URL"},
		{"secret both", nil, base("ISR_REVALIDATE_SECRET", "a", "ISR_REVALIDATE_SECRET_FILE", empty), "both ISR_REVALIDATE_SECRET and ISR_REVALIDATE_SECRET_FILE are set"},
		{"secret both flag", []string{"-revalidate-secret=a"}, base("ISR_REVALIDATE_SECRET_FILE", empty), "both -revalidate-secret and ISR_REVALIDATE_SECRET_FILE"},
		{"secret file missing", nil, base("ISR_REVALIDATE_SECRET_FILE", filepath.Join(dir, "nope")), "config: ISR_REVALIDATE_SECRET_FILE: open"},
		{"secret file empty", nil, base("ISR_REVALIDATE_SECRET_FILE", empty), "is empty"},
		{"previous without secret", nil, base("ISR_REVALIDATE_SECRET_PREVIOUS", "old"), "ISR_REVALIDATE_SECRET_PREVIOUS is set but ISR_REVALIDATE_SECRET is empty"},
		{"previous both", nil, base("ISR_REVALIDATE_SECRET_PREVIOUS", "a", "ISR_REVALIDATE_SECRET_PREVIOUS_FILE", empty), "both ISR_REVALIDATE_SECRET_PREVIOUS and ISR_REVALIDATE_SECRET_PREVIOUS_FILE"},
		{"trusted proxies", nil, base("ISR_TRUSTED_PROXIES", "10.0.0.0/8, nope"), `config: ISR_TRUSTED_PROXIES "10.0.0.0/8, nope": "nope" is not a CIDR`},
		{"rate word", nil, base("ISR_REVALIDATE_RATE", "ten"), `config: ISR_REVALIDATE_RATE "ten" must be requests per second`},
		{"rate negative", nil, base("ISR_REVALIDATE_RATE_TOTAL", "-1"), `config: ISR_REVALIDATE_RATE_TOTAL "-1" must be requests per second`},
		{"rate infinite", []string{"-revalidate-rate=+Inf"}, base(), `config: -revalidate-rate "+Inf"`},
		{"revalidate word", nil, base("ISR_REVALIDATE", "soon"), `config: ISR_REVALIDATE "soon" must be seconds or a duration`},
		{"revalidate zero", nil, base("ISR_REVALIDATE", "0"), "must be positive"},
		{"revalidate negative", nil, base("ISR_REVALIDATE", "-5s"), "must be positive"},
		{"revalidate huge", nil, base("ISR_REVALIDATE", "99999999999999"), "must be seconds or a duration"},
		{"expire", nil, base("ISR_EXPIRE", "1w"), `config: ISR_EXPIRE "1w"`},
		{"expire zero", nil, base("ISR_EXPIRE", "0s"), "must be positive"},
		{"render timeout", nil, base("ISR_RENDER_TIMEOUT", "-1"), `config: ISR_RENDER_TIMEOUT "-1" must be positive`},
		{"l1 bytes word", nil, base("ISR_L1_BYTES", "64MiB"), `config: ISR_L1_BYTES "64MiB" must be a number of bytes`},
		{"l1 bytes negative", nil, base("ISR_L1_BYTES", "-2"), "must be a number of bytes, 0 or -1"},
		{"l1 max age", nil, base("ISR_L1_MAX_AGE", "0"), `config: ISR_L1_MAX_AGE "0" must be positive`},
		{"key prefix empty flag", []string{"-key-prefix="}, base(), "config: -key-prefix must not be empty"},
		{"key prefix brace", nil, base("ISR_KEY_PREFIX", "isr{a}"), "must not contain braces"},
		{"key prefix space", nil, base("ISR_KEY_PREFIX", "a b"), "must not contain braces"},
		{"drain delay", nil, base("ISR_DRAIN_DELAY", "-1s"), `config: ISR_DRAIN_DELAY "-1s" must be positive`},
		{"shutdown timeout", nil, base("ISR_SHUTDOWN_TIMEOUT", "0"), "config: ISR_SHUTDOWN_TIMEOUT"},
		{"log level", nil, base("ISR_LOG_LEVEL", "verbose"), `config: ISR_LOG_LEVEL "verbose" must be debug, info, warn or error`},
		{"log level fatal", nil, base("ISR_LOG_LEVEL", "fatal"), "must be debug, info, warn or error"},
		{"routes missing", nil, base("ISR_ROUTES", filepath.Join(dir, "nope.yaml")), "config: ISR_ROUTES: open"},
		{"routes bad", nil, base("ISR_ROUTES", badRoutes), "line 3: unknown field colour"},
		{"unknown flag", []string{"-colour=red"}, base(), "config: flag provided but not defined: -colour"},
		{"positional", []string{"serve"}, base(), `config: unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.args, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestLoadHelp(t *testing.T) {
	t.Parallel()
	if _, err := Load([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("got %v, want flag.ErrHelp", err)
	}
	var b strings.Builder
	Usage(&b)
	for _, s := range settings {
		if !strings.Contains(b.String(), s.env) || !strings.Contains(b.String(), "-"+s.flag) {
			t.Errorf("usage lacks %s / -%s", s.env, s.flag)
		}
	}
}

func TestRedactedRedisURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:hunter2@127.0.0.1:6379", "redis://xxxxx@127.0.0.1:6379"},
		{"rediss://app:hunter2@r.example:6380/1", "rediss://xxxxx@r.example:6380/1"},
		{"redis://s:hunter1@s1:26379/0?master_name=m&addr=s2:26379&password=hunter2", "redis://xxxxx@s1:26379/0?master_name=m&addr=s2:26379&password=xxxxx"},
		{"redis://:hunter2@r:port\x7f", "(unparsable URL)"},
	}
	for _, tt := range tests {
		if got := (Config{RedisURL: tt.in}).RedactedRedisURL(); got != tt.want {
			t.Errorf("RedactedRedisURL(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLoadMetricsAddr checks the metrics listener's address next to the
// main one: unset by default, and both may pick a free port.
func TestLoadMetricsAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env        map[string]string
		args       []string
		addr, want string
	}{
		{base(), nil, ":8080", ""},
		{base("ISR_METRICS_ADDR", ":9090"), nil, ":8080", ":9090"},
		{base("ISR_ADDR", "127.0.0.1:0", "ISR_METRICS_ADDR", "127.0.0.1:0"), nil, "127.0.0.1:0", "127.0.0.1:0"},
		{base("ISR_METRICS_ADDR", ":9090"), []string{"-metrics-addr="}, ":8080", ""},
		{base("ISR_METRICS_ADDR", ":8080"), []string{"-addr=:8000"}, ":8000", ":8080"},
	}
	for _, tt := range tests {
		c, err := Load(tt.args, env(tt.env))
		if err != nil {
			t.Errorf("%v %v: %v", tt.env, tt.args, err)
			continue
		}
		if c.Addr != tt.addr || c.MetricsAddr != tt.want {
			t.Errorf("%v %v: got addr %q metrics %q, want %q %q", tt.env, tt.args, c.Addr, c.MetricsAddr, tt.addr, tt.want)
		}
	}
}
