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
	url, err := probeURL(addr, "/readyz")
	if err != nil {
		return fail(err)
	}
	if err := probe(ctx, url, *timeout); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "ok: %s\n", url)
	return nil
}

// probeURL returns the http URL of path on the server listening on addr
// (HOST:PORT). An empty or wildcard host (":8080", "0.0.0.0:8080",
// "[::]:8080") becomes 127.0.0.1.
func probeURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("listen address %q: no fixed port to probe", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// probe GETs url within timeout, through no proxy, and returns nil if the
// answer is 200 OK.
func probe(ctx context.Context, url string, timeout time.Duration) error {
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
