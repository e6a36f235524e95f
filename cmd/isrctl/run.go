package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// Exit codes.
const (
	exitOK    = 0 // everything succeeded
	exitFail  = 1 // the server refused or failed something, or a request failed
	exitUsage = 2 // bad flags, arguments or paths: nothing was sent
)

// Defaults of the global flags.
const (
	defaultServer  = "http://127.0.0.1:8080"
	defaultTimeout = time.Minute
)

// A cli is one invocation: its standard streams, its environment and the
// global flags. Subcommands run with one.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	server     string        // -server, ISRCTL_SERVER
	secretFile string        // -secret-file (the flag only; the variable is read by token)
	timeout    time.Duration // -timeout: each HTTP request
}

// run runs isrctl with args (without the program name) and returns its exit
// code. getenv reads the environment (os.Getenv in main).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, timeout: defaultTimeout}
	c.server = getenv("ISRCTL_SERVER")
	if c.server == "" {
		c.server = defaultServer
	}
	fs := c.flagSet("isrctl")
	fs.Usage = func() { c.usage(fs) }
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() == 0 {
		c.usage(fs)
		return exitUsage
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "revalidate":
		return c.revalidate(ctx, rest, false)
	case "purge":
		return c.revalidate(ctx, rest, true)
	case "inspect":
		return c.inspect(ctx, rest)
	case "prerender":
		return c.prerender(ctx, rest)
	case "help":
		c.usage(fs)
		return exitOK
	}
	c.errorf("unknown command %q (want revalidate, purge, inspect or prerender; isrctl -h for help)", cmd)
	return exitUsage
}

// flagSet returns a FlagSet named name with the global flags on it, so
// that they may be given before or after the subcommand.
func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.server, "server", c.server, "base URL of any replica, or of the Service/Ingress in front of them (env ISRCTL_SERVER)")
	fs.StringVar(&c.secretFile, "secret-file", c.secretFile, "file holding the token (env ISR_REVALIDATE_SECRET_FILE; or set ISR_REVALIDATE_SECRET)")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "time limit of each HTTP request")
	return fs
}

// usageCode is the exit code of a flag parsing error: 0 for -h.
func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

func (c *cli) usage(fs *flag.FlagSet) {
	fmt.Fprint(c.stderr, `isrctl is the admin CLI of isrcache.

Usage: isrctl [global flags] COMMAND [flags] [args]

Commands:
  revalidate [-mode eager|stale|delete] [-tag T]... [-json] [PATH...|-]
                 revalidate pages across the cluster (- reads paths from stdin)
  purge [-tag T]... [-json] PATH...
                 delete pages: their next visit is a MISS
  inspect [-json] PATH
                 show a page's stored state: age, generation, freshness, tags, size
  prerender [-c N] [-sitemap URL]... [-f FILE]... [PATH...]
                 warm the cache by visiting each page through the server

The token (for revalidate, purge and inspect) is read from
ISR_REVALIDATE_SECRET, or from the file named by -secret-file or
ISR_REVALIDATE_SECRET_FILE. It is never taken from a flag value and never
printed.

Exit status: 0 success, 1 something failed, 2 bad usage (nothing was sent).

Global flags:
`)
	fs.PrintDefaults()
}

// errorf prints an error line on stderr.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "isrctl: "+format+"\n", args...)
}

// baseURL checks -server and returns it without a trailing slash.
func (c *cli) baseURL() (string, error) {
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("-server %q must be an http:// or https:// URL, such as %s", c.server, defaultServer)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("-server %q must not have a query, a fragment or credentials", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// token returns the admin token: from the file named by -secret-file, else
// ISR_REVALIDATE_SECRET, else the file named by ISR_REVALIDATE_SECRET_FILE.
// Its errors never contain the token.
func (c *cli) token() (string, error) {
	file, from := c.secretFile, "-secret-file"
	if file == "" {
		if tok := c.getenv("ISR_REVALIDATE_SECRET"); tok != "" {
			return checkToken(tok, "ISR_REVALIDATE_SECRET")
		}
		file, from = c.getenv("ISR_REVALIDATE_SECRET_FILE"), "ISR_REVALIDATE_SECRET_FILE"
	}
	if file == "" {
		return "", errors.New("no token: set ISR_REVALIDATE_SECRET, or name a file holding it with -secret-file or ISR_REVALIDATE_SECRET_FILE")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	return checkToken(strings.TrimRight(string(b), " \t\r\n"), from+" "+file)
}

// checkToken refuses an empty token or one that cannot be sent in a header.
func checkToken(tok, from string) (string, error) {
	if tok == "" {
		return "", fmt.Errorf("the token in %s is empty", from)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("the token in %s contains a control character", from)
		}
	}
	return tok, nil
}
