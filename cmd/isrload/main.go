// Command isrload is a small HTTP load generator for isrcache replicas on
// this machine, and the runner of the project's load benchmark.
//
// It sends GET requests to replicas on loopback only (127.0.0.0/8, ::1,
// localhost: other hosts are refused, and the dialer refuses any other
// address), stops by itself after -n requests or -d, whichever comes
// first, and reports per X-ISR-Cache state (HIT, STALE, MISS, BYPASS) the
// count and the latency percentiles p50/p90/p99 (nearest rank), plus
// throughput and errors, as text or JSON.
//
// Usage:
//
//	isrload -targets http://127.0.0.1:8081,http://127.0.0.1:8082 -paths '/posts/{1..100}' [-c 8] [-n 1000] [-d 30s] [-json FILE|-]
//	isrload -paths '/posts/{seq}' -seq-start 5000 ...   every request a new page
//	isrload -stack [-runs 3] [-json FILE]                the scenario benchmark (see stack.go)
//	isrload -hotpath [-rounds 3] [-wrk-d 5s] [-profile F] the hot-path benchmark with wrk (see hotpath.go)
//	isrload bare -addr 127.0.0.1:PORT                    the bare net/http server of -hotpath
//
// In a path, "{a..b}" expands to one path per number from a to b, and
// "{seq}" is replaced by a number unique to each request (-seq-start plus
// the request's index).
//
// Exit status: 0 on success, 1 if the run failed or had errors, 2 on bad
// arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "isrload:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "isrload:", err)
		os.Exit(1)
	}
}

// usageError is an error in the command-line arguments.
type usageError struct{ error }

// errRunErrors reports that a load run completed with errors.
var errRunErrors = errors.New("the run had errors")

// run parses args and runs a load or, with -stack, the benchmark.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stdout, stderr)
	}
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if f.hotpath {
		return runHotpath(ctx, f.hotOpts, stdout, stderr)
	}
	if f.stack {
		return runStack(ctx, f.stackOpts, stdout, stderr)
	}
	rep, err := runLoad(ctx, f.load)
	if err != nil {
		return err
	}
	if err := output(rep, f.jsonPath, stdout); err != nil {
		return err
	}
	if rep.Errors > 0 {
		return errRunErrors
	}
	return nil
}

// output writes rep as text to stdout, and as JSON to path if set ("-":
// JSON on stdout instead of text).
func output(v interface{ WriteText(io.Writer) error }, path string, stdout io.Writer) error {
	if path == "-" {
		return writeJSON(stdout, v)
	}
	if err := v.WriteText(stdout); err != nil {
		return err
	}
	if path == "" {
		return nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJSON(fh, v); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}
