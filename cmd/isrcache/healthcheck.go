package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/isrcache/isrcache/internal/probe"
)

// healthcheckTimeout is the default time limit of one health check.
const healthcheckTimeout = 2 * time.Second

// healthcheck implements "isrcache healthcheck [-addr HOST:PORT] [-timeout
// 2s]", for container health checks in images that have no shell or curl.
// It GETs /readyz of the replica listening on -addr (default: ISR_ADDR,
// else ":8080"), on 127.0.0.1 when the address has no host or a wildcard
// one, and returns nil on a 200. Anything else (refused, timed out, 503
// while draining) is an *exitError with code 1, reported on stderr: the
// exit status Docker reads as unhealthy.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fail := func(err error) error {
		fmt.Fprintf(stderr, "isrcache healthcheck: %v\n", err)
		return &exitError{1, err}
	}
	addr := getenv("ISR_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	fs := flag.NewFlagSet("isrcache healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", addr, "address the replica listens on (default: ISR_ADDR, else :8080)")
	timeout := fs.Duration("timeout", healthcheckTimeout, "time limit of the check")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fail(err)
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	url, err := probe.URL(addr, "/readyz")
	if err != nil {
		return fail(err)
	}
	if err := probe.Get(ctx, url, *timeout); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "ok: %s\n", url)
	return nil
}
