// Package config reads isrcache's configuration from environment variables
// and command-line flags into a validated [Config].
//
// Every setting has an environment variable (ISR_ORIGIN) and a flag of the
// same meaning (-origin). A flag given on the command line wins over the
// environment; a setting given by neither takes its default. Errors name
// the variable or flag the bad value came from, and never print a password
// or secret.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// Config is isrcache's validated configuration. Load returns it with every
// default filled in.
type Config struct {
	// Addr is the listen address (ISR_ADDR). Default: ":8080".
	Addr string
	// MetricsAddr is the listen address of a separate listener that serves
	// only GET /metrics and /healthz (ISR_METRICS_ADDR). Empty, the
	// default, serves /metrics on Addr instead, next to the pages.
	MetricsAddr string
	// Origin is the origin's base URL (ISR_ORIGIN): absolute, http or https.
	Origin *url.URL
	// RedisURL is the redis:// or rediss:// URL of the shared store
	// (ISR_REDIS_URL). Empty means the embedded in-memory store, for one
	// replica only. It may hold a password: print RedactedRedisURL instead.
	RedisURL string
	// RedisMode is how RedisURL is reached (ISR_REDIS_MODE): single,
	// cluster or sentinel. Empty, the default, asks the server (see
	// isrredis.Connect for the URL form of each mode).
	RedisMode isrredis.Mode
	// RegenBudget is the most regenerations running at once across the
	// whole cluster (ISR_REGEN_BUDGET). Default: 32.
	RegenBudget int
	// RevalidateSecret is the token of /api/revalidate
	// (ISR_REVALIDATE_SECRET, or the content of ISR_REVALIDATE_SECRET_FILE
	// without trailing whitespace). Empty disables the endpoint.
	RevalidateSecret string
	// RevalidateSecretFile is ISR_REVALIDATE_SECRET_FILE: the file is
	// read again when it changes (RevalidateSecret holds its content at
	// startup). Empty when the secret was given directly.
	RevalidateSecretFile string
	// RevalidateSecretPrevious is a second token that /api/revalidate
	// accepts, so that the secret can be rotated without downtime
	// (ISR_REVALIDATE_SECRET_PREVIOUS, or the content of
	// ISR_REVALIDATE_SECRET_PREVIOUS_FILE). Empty accepts only
	// RevalidateSecret. It needs RevalidateSecret.
	RevalidateSecretPrevious string
	// RevalidateSecretPreviousFile is ISR_REVALIDATE_SECRET_PREVIOUS_FILE,
	// read again when it changes, or empty.
	RevalidateSecretPreviousFile string
	// RevalidateRate is how many requests per second one client address
	// may send to the token endpoints, /api/revalidate and /api/inspect,
	// with a burst of one second's worth (ISR_REVALIDATE_RATE). It counts
	// every request, with or without a valid token. Default: 10; 0: no
	// limit.
	RevalidateRate float64
	// RevalidateRateTotal is how many accepted (authenticated) requests per
	// second one replica's token endpoints take from all clients together,
	// with a burst of one second's worth (ISR_REVALIDATE_RATE_TOTAL).
	// Default: 50; 0: no limit.
	RevalidateRateTotal float64
	// TrustedProxies are the networks of the load balancers whose
	// X-Forwarded-For names the client, for RevalidateRate
	// (ISR_TRUSTED_PROXIES: comma-separated CIDRs or addresses). Empty,
	// the default, trusts none: the client is the connection's peer.
	TrustedProxies []netip.Prefix
	// NextPreviewID is the previewModeId of a Next.js origin
	// (ISR_NEXTJS_PREVIEW_ID, or the content of ISR_NEXTJS_PREVIEW_ID_FILE
	// when isrcache starts), read from the app's
	// .next/prerender-manifest.json at deploy time: regenerations then ask
	// Next to render anew. Empty means they get Next's cached copies. A
	// secret: never printed.
	NextPreviewID string
	// NextPreviewIDFile is ISR_NEXTJS_PREVIEW_ID_FILE: the file is read
	// again when it changes, as Next's builds change the id. Empty when
	// the id is given directly, or not at all.
	NextPreviewIDFile string
	// RevalidateWaitTimeout bounds how long a revalidation with wait=all
	// waits for every live replica's confirmation
	// (ISR_REVALIDATE_WAIT_TIMEOUT). Default: 2s.
	RevalidateWaitTimeout time.Duration
	// Revalidate is the revalidate time of pages that neither a route nor
	// the origin gives one (ISR_REVALIDATE). Default: 60s.
	Revalidate time.Duration
	// RoutesFile is the path of the YAML route file (ISR_ROUTES). Empty
	// means no route rules.
	RoutesFile string
	// Routes are the rules read from RoutesFile; nil if there is none.
	Routes []isr.Route
	// Expire is how long a page is kept after it was written (ISR_EXPIRE).
	// Default: 168h.
	Expire time.Duration
	// RenderTimeout bounds one origin render (ISR_RENDER_TIMEOUT).
	// Default: 10s.
	RenderTimeout time.Duration
	// L1Bytes bounds the in-process hot cache (ISR_L1_BYTES). Default
	// (and 0): 64 MiB. -1 disables the hot cache.
	L1Bytes int64
	// L1MaxAge is the longest a page stays in the hot cache
	// (ISR_L1_MAX_AGE). Default: 2s.
	L1MaxAge time.Duration
	// KeyPrefix prefixes every key in the shared store (ISR_KEY_PREFIX).
	// Default: "isr".
	KeyPrefix string
	// DrainDelay is how long /readyz answers 503 before the listener closes
	// on SIGTERM (ISR_DRAIN_DELAY). Default: 5s; 0 closes at once.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the graceful shutdown after the drain delay:
	// in-flight requests and regenerations (ISR_SHUTDOWN_TIMEOUT).
	// Default: 20s.
	ShutdownTimeout time.Duration
	// LogLevel is the lowest level logged (ISR_LOG_LEVEL): debug, info,
	// warn or error. Default: info.
	LogLevel zapcore.Level
}

// Secrets returns every secret of c that must never be logged: the
// revalidate tokens, the Next.js preview id and the Redis passwords. Empty
// ones are left out.
func (c Config) Secrets() []string {
	var out []string
	for _, s := range append([]string{c.RevalidateSecret, c.RevalidateSecretPrevious, c.NextPreviewID}, redisPasswords(c.RedisURL)...) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redisPasswords returns the passwords of a Redis URL: of its user
// information, and its password= and sentinel_password= parameters.
func redisPasswords(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	q := u.Query()
	out := append(q["password"], q["sentinel_password"]...)
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	return out
}

// DefaultL1Bytes is the hot cache's size when ISR_L1_BYTES is unset or 0.
const DefaultL1Bytes = 64 << 20

// RedactedRedisURL returns RedisURL with any password (user information,
// password= or sentinel_password=) replaced by "xxxxx", safe to log. It
// returns "" when RedisURL is empty.
func (c Config) RedactedRedisURL() string {
	if r := redactURL(c.RedisURL); r == "" || r == unparsable {
		return r
	}
	return isrredis.RedactURL(c.RedisURL)
}

// unparsable stands for a URL that does not parse in messages.
const unparsable = "(unparsable URL)"

// redactURL returns raw with its password hidden, or a placeholder when raw
// does not parse (the parse error could echo the password).
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return unparsable
	}
	return u.Redacted()
}

// A setting is one configuration value: its flag, variable and default.
type setting struct {
	flag, env, def, usage string
}

// settings lists every setting, in the order Usage prints them.
var settings = []setting{
	{"addr", "ISR_ADDR", ":8080", "listen address"},
	{"metrics-addr", "ISR_METRICS_ADDR", "", "listen address of /metrics alone; empty: /metrics is served on ISR_ADDR"},
	{"origin", "ISR_ORIGIN", "", "origin base URL, http or https (required)"},
	{"redis-url", "ISR_REDIS_URL", "", "redis:// or rediss:// URL; empty: embedded in-memory store, one replica only"},
	{"redis-mode", "ISR_REDIS_MODE", "", "single, cluster or sentinel; empty: detected from the server"},
	{"regen-budget", "ISR_REGEN_BUDGET", "32", "most regenerations running at once across the cluster"},
	{"revalidate-secret", "ISR_REVALIDATE_SECRET", "", "token for POST /api/revalidate; empty disables it"},
	{"revalidate-secret-file", "ISR_REVALIDATE_SECRET_FILE", "", "file holding the revalidate token"},
	{"revalidate-secret-previous", "ISR_REVALIDATE_SECRET_PREVIOUS", "", "a second accepted token, for rotating the secret"},
	{"revalidate-secret-previous-file", "ISR_REVALIDATE_SECRET_PREVIOUS_FILE", "", "file holding the second token"},
	{"revalidate-rate", "ISR_REVALIDATE_RATE", "10", "requests per second one client address may send to /api/revalidate and /api/inspect; 0: no limit"},
	{"revalidate-rate-total", "ISR_REVALIDATE_RATE_TOTAL", "50", "accepted revalidations per second of one replica, all clients together; 0: no limit"},
	{"trusted-proxies", "ISR_TRUSTED_PROXIES", "", "comma-separated CIDRs of load balancers whose X-Forwarded-For names the client, for ISR_REVALIDATE_RATE"},
	{"nextjs-preview-id", "ISR_NEXTJS_PREVIEW_ID", "", "a Next.js origin's previewModeId (.next/prerender-manifest.json): regenerations re-render in Next"},
	{"nextjs-preview-id-file", "ISR_NEXTJS_PREVIEW_ID_FILE", "", "file holding the Next.js previewModeId"},
	{"revalidate-wait-timeout", "ISR_REVALIDATE_WAIT_TIMEOUT", "2s", "longest wait of a revalidation with wait=all for every replica's confirmation"},
	{"revalidate", "ISR_REVALIDATE", "60", "default revalidate time: seconds or a duration such as 90s"},
	{"routes", "ISR_ROUTES", "", "path of a YAML route file"},
	{"expire", "ISR_EXPIRE", "168h", "how long a page is kept after it was written"},
	{"render-timeout", "ISR_RENDER_TIMEOUT", "10s", "time limit of one origin render"},
	{"l1-bytes", "ISR_L1_BYTES", "67108864", "in-process hot cache size in bytes; 0: default, -1: disabled"},
	{"l1-max-age", "ISR_L1_MAX_AGE", "2s", "longest time a page stays in the hot cache"},
	{"key-prefix", "ISR_KEY_PREFIX", "isr", "prefix of every key in the shared store"},
	{"drain-delay", "ISR_DRAIN_DELAY", "5s", "how long /readyz answers 503 before the listener closes on SIGTERM"},
	{"shutdown-timeout", "ISR_SHUTDOWN_TIMEOUT", "20s", "time limit of the graceful shutdown after the drain delay"},
	{"log-level", "ISR_LOG_LEVEL", "info", "debug, info, warn or error"},
}

// Usage writes the list of flags and environment variables to w.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: isrcache [flags]\n\nEvery flag can be set by its environment variable instead; a flag wins.")
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(w, "  -%-24s %-28s %s%s\n", s.flag, s.env, s.usage, def)
	}
}

// A value is a setting's raw text and the name of where it came from: the
// flag ("-origin"), the variable ("ISR_ORIGIN"), or the variable for a default.
type value struct {
	raw, from string
}

// Load reads the configuration from the command-line arguments (without the
// program name) and the environment, as returned by getenv. It reads the
// secret and route files named in them. For -h or -help it returns an error
// wrapping flag.ErrHelp.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("isrcache", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range settings {
		fs.String(s.flag, s.def, s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q (settings are flags or environment variables)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	vals := map[string]value{}
	for _, s := range settings {
		switch {
		case given[s.flag]:
			vals[s.flag] = value{fs.Lookup(s.flag).Value.String(), "-" + s.flag}
		case getenv(s.env) != "":
			vals[s.flag] = value{getenv(s.env), s.env}
		default:
			vals[s.flag] = value{s.def, s.env}
		}
	}
	return parse(vals)
}
