package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/internal/secretfile"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// parse validates the raw settings into a Config. The first bad value is
// reported, named by where it came from.
func parse(v map[string]value) (Config, error) {
	var c Config
	var err error
	if c.Addr, err = parseAddr(v["addr"]); err != nil {
		return c, err
	}
	if c.MetricsAddr, err = parseMetricsAddr(v["metrics-addr"], v["addr"]); err != nil {
		return c, err
	}
	if c.Origin, err = parseOrigin(v["origin"]); err != nil {
		return c, err
	}
	if c.RedisURL, err = parseRedisURL(v["redis-url"]); err != nil {
		return c, err
	}
	if c.RedisMode, err = isrredis.ParseMode(v["redis-mode"].raw); err != nil {
		return c, fmt.Errorf("config: %s %q must be single, cluster or sentinel (or empty: detected)", v["redis-mode"].from, v["redis-mode"].raw)
	}
	if c.RegenBudget, err = strconv.Atoi(v["regen-budget"].raw); err != nil || c.RegenBudget < 1 {
		return c, fmt.Errorf("config: %s %q must be a whole number of regenerations, at least 1", v["regen-budget"].from, v["regen-budget"].raw)
	}
	if c.RevalidateSecret, err = parseSecret(v["revalidate-secret"], v["revalidate-secret-file"]); err != nil {
		return c, err
	}
	if c.RevalidateSecretPrevious, err = parseSecret(v["revalidate-secret-previous"], v["revalidate-secret-previous-file"]); err != nil {
		return c, err
	}
	c.RevalidateSecretFile = v["revalidate-secret-file"].raw
	c.RevalidateSecretPreviousFile = v["revalidate-secret-previous-file"].raw
	if c.RevalidateSecretPrevious != "" && c.RevalidateSecret == "" {
		return c, fmt.Errorf("config: %s is set but %s is empty: set the new secret too",
			orFrom(v["revalidate-secret-previous"], v["revalidate-secret-previous-file"]), v["revalidate-secret"].from)
	}
	if c.RevalidateRate, err = parseRate(v["revalidate-rate"]); err != nil {
		return c, err
	}
	if c.RevalidateRateTotal, err = parseRate(v["revalidate-rate-total"]); err != nil {
		return c, err
	}
	if c.TrustedProxies, err = parsePrefixes(v["trusted-proxies"]); err != nil {
		return c, err
	}
	if c.NextPreviewID, err = parseSecret(v["nextjs-preview-id"], v["nextjs-preview-id-file"]); err != nil {
		return c, err
	}
	c.NextPreviewIDFile = v["nextjs-preview-id-file"].raw
	durations := []struct {
		dst  *time.Duration
		name string
		zero bool // whether 0 is allowed
	}{
		{&c.Revalidate, "revalidate", false},
		{&c.Expire, "expire", false},
		{&c.RenderTimeout, "render-timeout", false},
		{&c.L1MaxAge, "l1-max-age", false},
		{&c.DrainDelay, "drain-delay", true},
		{&c.ShutdownTimeout, "shutdown-timeout", false},
		{&c.RevalidateWaitTimeout, "revalidate-wait-timeout", false},
	}
	for _, d := range durations {
		if *d.dst, err = parseDuration(v[d.name], d.zero); err != nil {
			return c, err
		}
	}
	if c.L1Bytes, err = parseL1Bytes(v["l1-bytes"]); err != nil {
		return c, err
	}
	if c.KeyPrefix, err = parseKeyPrefix(v["key-prefix"]); err != nil {
		return c, err
	}
	if c.LogLevel, err = parseLogLevel(v["log-level"]); err != nil {
		return c, err
	}
	if c.RoutesFile = v["routes"].raw; c.RoutesFile != "" {
		if c.Routes, err = ReadRoutes(c.RoutesFile); err != nil {
			return c, fmt.Errorf("config: %s: %w", v["routes"].from, err)
		}
	}
	return c, nil
}

func parseAddr(v value) (string, error) {
	if _, _, err := net.SplitHostPort(v.raw); err != nil {
		return "", fmt.Errorf("config: %s %q must be host:port, such as :8080 or 127.0.0.1:0", v.from, v.raw)
	}
	return v.raw, nil
}

// parseMetricsAddr reads the optional metrics listen address, which must
// not be the main one (unless both pick a free port).
func parseMetricsAddr(v, main value) (string, error) {
	if v.raw == "" {
		return "", nil
	}
	addr, err := parseAddr(v)
	if err != nil {
		return "", err
	}
	if _, port, _ := net.SplitHostPort(addr); addr == main.raw && port != "0" {
		return "", fmt.Errorf("config: %s %q is the same as %s: leave it empty to serve /metrics there", v.from, v.raw, main.from)
	}
	return addr, nil
}

func parseOrigin(v value) (*url.URL, error) {
	if v.raw == "" {
		return nil, fmt.Errorf("config: %s is required: the origin's base URL, such as http://localhost:3000", v.from)
	}
	u, err := url.Parse(v.raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("config: %s %q must be an http or https URL", v.from, redactURL(v.raw))
	}
	switch {
	case u.Host == "":
		return nil, fmt.Errorf("config: %s %q has no host", v.from, u.Redacted())
	case u.Fragment != "" || u.RawQuery != "":
		return nil, fmt.Errorf("config: %s %q must not have a query or fragment", v.from, u.Redacted())
	}
	return u, nil
}

func parseRedisURL(v value) (string, error) {
	if v.raw == "" {
		return "", nil
	}
	u, err := url.Parse(v.raw)
	if err != nil {
		// The parse error would echo the URL, password included.
		return "", fmt.Errorf("config: %s is not a valid URL", v.from)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "", fmt.Errorf("config: %s %q must be a redis:// or rediss:// URL", v.from, isrredis.RedactURL(v.raw))
	}
	if u.Host == "" {
		return "", fmt.Errorf("config: %s %q has no host", v.from, isrredis.RedactURL(v.raw))
	}
	return v.raw, nil
}

// parseSecret returns a secret given directly or in a file (its content
// without trailing whitespace).
func parseSecret(direct, file value) (string, error) {
	switch {
	case direct.raw != "" && file.raw != "":
		return "", fmt.Errorf("config: both %s and %s are set; set one", direct.from, file.from)
	case file.raw == "":
		return direct.raw, nil
	}
	s, err := secretfile.Read(file.raw)
	if err != nil {
		return "", fmt.Errorf("config: %s: %w", file.from, err)
	}
	return s, nil
}

// orFrom names where a setting given as a value or as a file came from.
func orFrom(direct, file value) string {
	if file.raw != "" {
		return file.from
	}
	return direct.from
}

// parseRate reads a rate in requests per second: 0 (no limit) or a positive
// number, such as 10 or 0.5.
func parseRate(v value) (float64, error) {
	r, err := strconv.ParseFloat(v.raw, 64)
	if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fmt.Errorf("config: %s %q must be requests per second, such as 10 or 0.5 (0: no limit)", v.from, v.raw)
	}
	return r, nil
}

// parsePrefixes reads comma-separated CIDRs ("10.0.0.0/8") or addresses
// (one address is its own network).
func parsePrefixes(v value) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v.raw, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("config: %s %q: %q is not a CIDR such as 10.0.0.0/8 or an address", v.from, v.raw, f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseDuration reads integer seconds ("60") or a Go duration ("90s").
func parseDuration(v value, zeroOK bool) (time.Duration, error) {
	d, err := durationOrSeconds(v.raw)
	if err != nil {
		return 0, fmt.Errorf("config: %s %q must be seconds or a duration such as 90s", v.from, v.raw)
	}
	if d < 0 || (d == 0 && !zeroOK) {
		return 0, fmt.Errorf("config: %s %q must be positive", v.from, v.raw)
	}
	return d, nil
}

// durationOrSeconds parses integer seconds or a Go duration.
func durationOrSeconds(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(maxSeconds) || n < -int64(maxSeconds) {
			return 0, fmt.Errorf("%d seconds is too long", n)
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// maxSeconds is the largest whole number of seconds a Duration holds.
const maxSeconds = int64(1<<63-1) / int64(time.Second)

func parseL1Bytes(v value) (int64, error) {
	n, err := strconv.ParseInt(v.raw, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("config: %s %q must be a number of bytes (0: default, -1: disabled)", v.from, v.raw)
	case n < -1:
		return 0, fmt.Errorf("config: %s %q must be a number of bytes, 0 or -1", v.from, v.raw)
	case n == 0:
		return DefaultL1Bytes, nil
	}
	return n, nil
}

// parseKeyPrefix refuses characters that would break keys: braces (Redis
// Cluster hash tags), spaces and control characters.
func parseKeyPrefix(v value) (string, error) {
	if v.raw == "" {
		return "", fmt.Errorf("config: %s must not be empty", v.from)
	}
	for _, r := range v.raw {
		if r <= ' ' || r == 0x7f || r == '{' || r == '}' {
			return "", fmt.Errorf("config: %s %q must not contain braces, spaces or control characters", v.from, v.raw)
		}
	}
	return v.raw, nil
}

func parseLogLevel(v value) (zapcore.Level, error) {
	switch l, err := zapcore.ParseLevel(v.raw); {
	case err != nil || l < zapcore.DebugLevel || l > zapcore.ErrorLevel:
		return 0, fmt.Errorf("config: %s %q must be debug, info, warn or error", v.from, v.raw)
	default:
		return l, nil
	}
}
