package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/isrcache/isrcache/cmd/demo-origin/blog"
	"go.uber.org/zap/zapcore"
)

// config is the command's configuration.
type config struct {
	addr     string
	blog     blog.Config
	logLevel zapcore.Level
}

// parseConfig reads the configuration from args and the environment; flags
// win over variables. Usage and errors go to stderr.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("demo-origin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("DEMO_ADDR", ":3000"), "listen address (DEMO_ADDR)")
	delay := fs.String("delay", env("DEMO_DELAY", "0s"), "delay added to every page render, a Go duration (DEMO_DELAY)")
	fail := fs.String("fail", env("DEMO_FAIL", "none"), "failure mode: none, 500 or truncate (DEMO_FAIL)")
	smaxage := fs.String("smaxage", env("DEMO_SMAXAGE", "10"), "s-maxage of the pages, seconds or a Go duration (DEMO_SMAXAGE)")
	posts := fs.String("posts", env("DEMO_POSTS", "100"), "number of posts (DEMO_POSTS)")
	padding := fs.String("padding", env("DEMO_PADDING", "0"), "bytes of padding added to every page (DEMO_PADDING)")
	level := fs.String("log-level", env("DEMO_LOG_LEVEL", "info"), "log level: debug logs every render (DEMO_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	c := config{addr: *addr}
	c.blog.Version = 1
	var err error
	if c.blog.Delay, err = time.ParseDuration(*delay); err != nil {
		return config{}, fmt.Errorf("-delay / DEMO_DELAY: %w", err)
	}
	if c.blog.Fail, err = blog.ParseFail(*fail); err != nil {
		return config{}, fmt.Errorf("-fail / DEMO_FAIL: %w", err)
	}
	if c.blog.SMaxAge, err = parseSeconds(*smaxage); err != nil {
		return config{}, fmt.Errorf("-smaxage / DEMO_SMAXAGE: %w", err)
	}
	if c.blog.Posts, err = strconv.Atoi(*posts); err != nil || c.blog.Posts < 1 {
		return config{}, fmt.Errorf("-posts / DEMO_POSTS: %q is not a positive integer", *posts)
	}
	if c.blog.Padding, err = strconv.Atoi(*padding); err != nil || c.blog.Padding < 0 {
		return config{}, fmt.Errorf("-padding / DEMO_PADDING: %q is not a non-negative integer", *padding)
	}
	if c.logLevel, err = zapcore.ParseLevel(*level); err != nil {
		return config{}, fmt.Errorf("-log-level / DEMO_LOG_LEVEL: %w", err)
	}
	return c, nil
}

// parseSeconds parses whole seconds ("10") or a Go duration ("10s").
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds nor a duration", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}
