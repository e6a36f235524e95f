package isrredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/redis/go-redis/v9"
)

func TestClientOptions(t *testing.T) {
	o, err := isrredis.ClientOptions("redis://user:s3cret@127.0.0.1:6390/2")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "127.0.0.1:6390" || o.DB != 2 || o.Username != "user" || o.Password != "s3cret" || o.TLSConfig != nil {
		t.Fatalf("parsed %+v", o)
	}
	if o.DialTimeout != 2*time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second ||
		o.PoolTimeout != 2*time.Second || o.MaxRetries != 1 || !o.ContextTimeoutEnabled {
		t.Fatalf("bounds not set: %+v", o)
	}
	o, err = isrredis.ClientOptions("rediss://h/0?read_timeout=3s&max_retries=-1&pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	if o.TLSConfig == nil || o.ReadTimeout != 3*time.Second || o.MaxRetries != -1 || o.PoolSize != 7 || o.DialTimeout != 2*time.Second {
		t.Fatalf("URL settings not kept: %+v", o)
	}
}

func TestClientOptionsErrorsHidePassword(t *testing.T) {
	for _, u := range []string{
		"http://user:s3cret@host",
		"redis://user:s3cret@host:badport",
		"redis://user:s3cret@host/notadb",
		"redis://user:s3cret@host/0?nonsense=1",
		"redis://:s3cret@ho st",
		"redis://s3cret@host/1/2",
		"redis://user:s3cr%65t@host/x",
		"::user:s3cret@",
	} {
		_, err := isrredis.ClientOptions(u)
		if err == nil {
			t.Errorf("%q: no error", u)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cret") || !strings.HasPrefix(msg, "isrredis: ") {
			t.Errorf("%q: error %q", u, msg)
		}
	}
}

func TestClientOptionsConnect(t *testing.T) {
	srv := redistest.Start(t)
	o, err := isrredis.ClientOptions(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	defer c.Close()
	b := isrredis.New(c, nil)
	mustPut(t, b, "/p", 1, page("/p", "x", time.Minute))
	if got := mustGet(t, b, "/p"); string(got.Page.Body) != "x" {
		t.Fatalf("body %q", got.Page.Body)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// FuzzRedactURL checks that RedactURL never lets a password through: the
// user information's, or a password= or sentinel_password= parameter's,
// raw or decoded. Seeds are in testdata/fuzz.
func FuzzRedactURL(f *testing.F) {
	f.Add("h:6379/0", "s3cret")
	f.Add("s1:26379/0", "pa55word")
	f.Add("[::1]:6379", "hunter2")
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		// prefix is the URL's host and path; the secret may not be in it.
		if len(secret) < 4 || strings.ContainsAny(secret, "&#?/@:=%+ ") ||
			strings.Contains(prefix, secret) || strings.ContainsAny(prefix, "@?#") {
			return
		}
		for _, u := range []string{
			"redis://u:" + secret + "@" + prefix,
			"redis://" + prefix + "?password=" + secret,
			"redis://" + prefix + "?a=b&sentinel_password=" + secret + "&c=d",
		} {
			if got := isrredis.RedactURL(u); strings.Contains(got, secret) {
				t.Fatalf("RedactURL(%q) = %q, shows the password", u, got)
			}
		}
	})
}
