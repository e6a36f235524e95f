package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/isrcache/isrcache/internal/probe"
)

// healthPath is the path the health check GETs: the admin settings, which
// answer without rendering a page, so a check never shows in the render
// counters.
const healthPath = "/_admin/config"

// healthcheck implements "demo-origin healthcheck [-addr HOST:PORT]
// [-timeout 2s]", for container health checks in images that have no shell
// or curl. It GETs /_admin/config of the origin listening on -addr
// (default: DEMO_ADDR, else ":3000"), on 127.0.0.1 when the address has no
// host or a wildcard one, and returns nil on a 200; otherwise an error,
// which main reports with exit status 1.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	addr := getenv("DEMO_ADDR")
	if addr == "" {
		addr = ":3000"
	}
	fs := flag.NewFlagSet("demo-origin healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", addr, "address the origin listens on (default: DEMO_ADDR, else :3000)")
	timeout := fs.Duration("timeout", 2*time.Second, "time limit of the check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	url, err := probe.URL(addr, healthPath)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	if err := probe.Get(ctx, url, *timeout); err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	fmt.Fprintf(stdout, "ok: %s\n", url)
	return nil
}
