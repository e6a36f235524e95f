package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
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
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: listen address %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return fmt.Errorf("healthcheck: listen address %q: no fixed port to probe", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + healthPath
	if err := getOK(ctx, url, *timeout); err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	fmt.Fprintf(stdout, "ok: %s\n", url)
	return nil
}

// getOK GETs url within timeout, through no proxy and following no
// redirect, and returns nil if the answer is 200 OK.
func getOK(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirected")
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
