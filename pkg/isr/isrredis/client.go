package isrredis

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientOptions parses a redis:// or rediss:// URL into go-redis options with
// explicit bounds: DialTimeout 2s, ReadTimeout 1s, WriteTimeout 1s,
// PoolTimeout 2s and MaxRetries 1 unless the URL's query sets them
// (dial_timeout, read_timeout, ...), and ContextTimeoutEnabled. PoolSize is
// left to the URL (pool_size) or the caller. Errors never contain the URL's
// user or password.
func ClientOptions(rawURL string) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("isrredis: Redis URL %q: %w", RedactURL(rawURL), scrub(err, rawURL))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("isrredis: Redis URL %q: scheme must be redis or rediss", RedactURL(rawURL))
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("isrredis: Redis URL %q: %w", RedactURL(rawURL), scrub(err, rawURL))
	}
	bound(&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout, &opt.MaxRetries)
	opt.ContextTimeoutEnabled = true
	return opt, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// RedactURL returns rawURL with its user information (user and password)
// and the values of its password= and sentinel_password= parameters
// replaced by "xxxxx", whether or not rawURL parses: safe to log.
func RedactURL(rawURL string) string {
	for _, s := range queryPasswords(rawURL) {
		rawURL = strings.ReplaceAll(rawURL, s, "xxxxx")
	}
	return redactUserinfo(rawURL)
}

// queryPasswords returns the values of rawURL's password parameters, raw
// and decoded, longest first.
func queryPasswords(rawURL string) []string {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return nil
	}
	query, _, _ = strings.Cut(query, "#")
	var out []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if v == "" || (k != "password" && k != "sentinel_password") {
			continue
		}
		out = append(out, v)
		if dv, err := url.QueryUnescape(v); err == nil && dv != v {
			out = append(out, dv)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redactUserinfo returns rawURL with its user information replaced by
// "xxxxx".
func redactUserinfo(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		if strings.Contains(rawURL, "@") {
			return "xxxxx"
		}
		return rawURL
	}
	rest := rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return rawURL
	}
	return rawURL[:i+3] + "xxxxx" + rest[at:]
}

// userinfo returns the user information part of rawURL, raw and decoded.
func userinfo(rawURL string) []string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return nil
	}
	rest := rawURL[i+3:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	if at <= 0 {
		return nil
	}
	info := rest[:at]
	secrets := []string{info}
	for _, part := range strings.SplitN(info, ":", 2) {
		if part == "" {
			continue
		}
		secrets = append(secrets, part)
		if dec, err := url.PathUnescape(part); err == nil && dec != part {
			secrets = append(secrets, dec)
		}
	}
	return secrets
}

// scrub returns err's message with rawURL's user information removed. The
// result does not unwrap to err, whose message may hold the password.
func scrub(err error, rawURL string) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	for _, s := range append(queryPasswords(rawURL), userinfo(rawURL)...) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return errors.New(msg)
}
