package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/isrcache/isrcache/internal/server"
)

// inspect runs "isrctl inspect PATH".
func (c *cli) inspect(ctx context.Context, args []string) int {
	fs := c.flagSet("isrctl inspect")
	jsonOut := fs.Bool("json", false, "print the server's raw JSON answer")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() != 1 {
		c.errorf("inspect: give one path, such as isrctl inspect /posts/1")
		return exitUsage
	}
	p, err := checkPath(fs.Arg(0))
	if err != nil {
		c.errorf("inspect: %v", err)
		return exitUsage
	}
	api, err := c.newAPIClient()
	if err != nil {
		c.errorf("inspect: %v", err)
		return exitUsage
	}
	a, err := api.do(ctx, http.MethodGet, "/api/inspect?path="+url.QueryEscape(p), nil)
	if err != nil {
		c.errorf("inspect: %v", err)
		return exitFail
	}
	var notCached struct{ Message, Key string }
	if a.Status == http.StatusNotFound && json.Unmarshal(a.Body, &notCached) == nil && notCached.Message == "not cached" {
		if *jsonOut {
			fmt.Fprintln(c.stdout, string(bytes.TrimSpace(a.Body)))
		}
		c.errorf("inspect: %s is not cached (key %s)", p, notCached.Key)
		return exitFail
	}
	if a.Status != http.StatusOK {
		c.errorf("inspect: %v", apiError(a, "/api/inspect"))
		return exitFail
	}
	if *jsonOut {
		fmt.Fprintln(c.stdout, string(bytes.TrimSpace(a.Body)))
		return exitOK
	}
	var in server.Inspection
	if err := json.Unmarshal(a.Body, &in); err != nil {
		c.errorf("inspect: the server's answer is not JSON: %v", err)
		return exitFail
	}
	printInspection(c.stdout, in)
	return exitOK
}

// printInspection writes a readable summary of in.
func printInspection(w io.Writer, in server.Inspection) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("key", in.Key)
	row("status", fmt.Sprint(in.Status))
	row("generation", fmt.Sprint(in.Generation))
	row("age", human(in.AgeSeconds))
	if in.RevalidateSeconds == nil {
		row("revalidate", "never (fresh until revalidated on demand)")
	} else {
		row("revalidate", human(*in.RevalidateSeconds))
	}
	switch {
	case in.Stale:
		row("state", "STALE: the next visit is served stale and regenerates it")
	case in.FreshSeconds == nil:
		row("state", "fresh (never goes stale by time)")
	default:
		row("state", "fresh for "+human(*in.FreshSeconds))
	}
	tags := slices.Clone(in.Tags)
	slices.Sort(tags)
	row("tags", strings.Join(tags, ", "))
	row("size", fmt.Sprintf("%d bytes", in.SizeBytes))
	if in.BodySHA256 != "" {
		row("sha256", in.BodySHA256)
	}
	names := make([]string, 0, len(in.Headers))
	for k := range in.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		label := ""
		if i == 0 {
			label = "headers"
		}
		for _, v := range in.Headers[k] {
			row(label, k+": "+v)
			label = ""
		}
	}
	_ = tw.Flush()
}

// human formats seconds as a rounded duration: "12s", "1m30s", "250ms".
func human(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Minute:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	return d.String()
}
