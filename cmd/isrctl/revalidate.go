package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Limits of one POST /api/revalidate, as the server enforces them.
const (
	maxBatchTargets = 1000     // paths and tags together
	maxBatchBody    = 60 << 10 // bytes of JSON, under the server's 64 KiB
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// revalidateBody is the JSON body of POST /api/revalidate.
type revalidateBody struct {
	Paths []string `json:"paths,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	Mode  string   `json:"mode"`
}

// revalidateAnswer is the server's answer to a revalidation.
type revalidateAnswer struct {
	Revalidated bool   `json:"revalidated"`
	Message     string `json:"message"`
	Results     []struct {
		Path   string `json:"path"`
		Key    string `json:"key"`
		Result string `json:"result"`
		Error  string `json:"error"`
	} `json:"results"`
}

// revalidate runs "isrctl revalidate", or "isrctl purge" (mode delete).
func (c *cli) revalidate(ctx context.Context, args []string, purge bool) int {
	name := "revalidate"
	if purge {
		name = "purge"
	}
	fs := c.flagSet("isrctl " + name)
	var tags stringList
	mode := "eager"
	if !purge {
		fs.StringVar(&mode, "mode", mode, "eager (regenerate now), stale (regenerate on the next visit) or delete (next visit is a MISS)")
	}
	fs.Var(&tags, "tag", "revalidate every page carrying this tag (repeatable)")
	jsonOut := fs.Bool("json", false, "print the server's raw JSON answers, one per line")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if purge {
		mode = "delete"
	}
	if mode != "eager" && mode != "stale" && mode != "delete" {
		c.errorf("%s: -mode %q must be eager, stale or delete", name, mode)
		return exitUsage
	}
	paths, err := c.argPaths(fs.Args())
	if err != nil {
		c.errorf("%s: %v", name, err)
		return exitUsage
	}
	for _, t := range tags {
		if err := isr.CheckTag(t); err != nil {
			c.errorf("%s: %v", name, err)
			return exitUsage
		}
	}
	if len(paths)+len(tags) == 0 {
		c.errorf("%s: nothing to do: give paths (or - to read them from stdin) or -tag", name)
		return exitUsage
	}
	api, err := c.newAPIClient()
	if err != nil {
		c.errorf("%s: %v", name, err)
		return exitUsage
	}
	code := exitOK
	for _, b := range batches(paths, tags, mode) {
		if ctx.Err() != nil {
			c.errorf("%s: interrupted", name)
			return exitFail
		}
		if !c.sendRevalidation(ctx, api, name, b, *jsonOut) {
			code = exitFail
		}
	}
	return code
}

// argPaths checks the path arguments; "-" reads more from stdin.
func (c *cli) argPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a != "-" {
			p, err := checkPath(a)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
			continue
		}
		err := readLines(c.stdin, func(line string, n int) error {
			p, err := checkPath(line)
			if err != nil {
				return fmt.Errorf("stdin line %d: %w", n, err)
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return dedupe(out), nil
}

// batches splits the targets into request bodies within the server's
// limits. Tags come first, in the first batch.
func batches(paths, tags []string, mode string) []revalidateBody {
	var out []revalidateBody
	cur := revalidateBody{Tags: tags, Mode: mode}
	size := 64
	for _, t := range tags {
		size += len(t) + 8
	}
	for _, p := range paths {
		n := jsonLen(p) + 1
		if len(cur.Paths)+len(cur.Tags) >= maxBatchTargets || (size+n > maxBatchBody && len(cur.Paths) > 0) {
			out = append(out, cur)
			cur, size = revalidateBody{Mode: mode}, 64
		}
		cur.Paths = append(cur.Paths, p)
		size += n
	}
	if len(cur.Paths)+len(cur.Tags) > 0 {
		out = append(out, cur)
	}
	return out
}

// jsonLen is the length of s as a JSON string.
func jsonLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}

// sendRevalidation posts one batch and prints its results. It reports
// whether every page was handled.
func (c *cli) sendRevalidation(ctx context.Context, api *apiClient, name string, b revalidateBody, raw bool) bool {
	body, err := json.Marshal(b)
	if err != nil {
		c.errorf("%s: %v", name, err)
		return false
	}
	a, err := api.do(ctx, http.MethodPost, "/api/revalidate", body)
	if err != nil {
		c.errorf("%s: %v", name, err)
		return false
	}
	if raw {
		fmt.Fprintln(c.stdout, string(bytes.TrimSpace(a.Body)))
	}
	var ans revalidateAnswer
	decodeErr := json.Unmarshal(a.Body, &ans)
	if a.Status != http.StatusOK && (decodeErr != nil || ans.Results == nil) {
		c.errorf("%s: %v", name, apiError(a, "/api/revalidate"))
		return false
	}
	if decodeErr != nil {
		c.errorf("%s: the server's answer is not JSON: %v", name, decodeErr)
		return false
	}
	ok := a.Status == http.StatusOK
	for _, r := range ans.Results {
		if r.Result == "failed" {
			ok = false
		}
		if raw {
			continue
		}
		line := r.Path + "\t" + r.Result
		if r.Key != r.Path {
			line += "\tkey " + r.Key
		}
		if r.Error != "" {
			line += "\t" + r.Error
		}
		fmt.Fprintln(c.stdout, line)
	}
	if !ok {
		c.errorf("%s: some pages failed; their old versions are kept, marked stale", name)
	}
	return ok
}
