package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/isrcache/isrcache/pkg/isr"
)

// maxRoutesFileBytes bounds the route file read at startup.
const maxRoutesFileBytes = 1 << 20

// ReadRoutes reads and parses the YAML route file at path (see
// [ParseRoutes]).
func ReadRoutes(path string) ([]isr.Route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRoutesFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRoutesFileBytes {
		return nil, fmt.Errorf("routes file %q is larger than %d bytes", path, maxRoutesFileBytes)
	}
	routes, err := ParseRoutes(data)
	if err != nil {
		return nil, fmt.Errorf("routes file %q: %w", path, err)
	}
	return routes, nil
}

// ParseRoutes parses a YAML route file:
//
//	routes:
//	  - pattern: /posts/{id}        # gorilla/mux path template
//	    revalidate: 30              # seconds, or "30s", or false (isr.Never)
//	    fallback: blocking          # or false (isr.FallbackFalse)
//	    paths: [/posts/1, /posts/2] # known paths, each matching pattern
//	    query: [page]               # query keys kept in the cache key
//	    tags: [posts]
//	    bypass: false               # never cache this route
//
// Decoding is strict: an unknown field, a duplicate key or a value of the
// wrong kind is an error naming its line. A file without routes is an
// error. Paths are returned in canonical form (see [isr.ParsePath]).
func ParseRoutes(data []byte) ([]isr.Route, error) {
	var file struct {
		Routes []routeYAML `yaml:"routes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no routes (the file is empty)")
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if len(file.Routes) == 0 {
		return nil, errors.New("no routes (want a top-level routes: list)")
	}
	lines := routeLines(data)
	routes := make([]isr.Route, len(file.Routes))
	for i, ry := range file.Routes {
		r, err := ry.route()
		if err != nil {
			if i < len(lines) {
				return nil, fmt.Errorf("line %d: route %d: %w", lines[i], i+1, err)
			}
			return nil, fmt.Errorf("route %d: %w", i+1, err)
		}
		routes[i] = r
	}
	return routes, nil
}

// yamlError flattens yaml.v3's multi-line type errors into one line and
// words unknown fields plainly.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(oneLine(err.Error()))
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if before, _, ok := strings.Cut(m, " not found in type "); ok {
			m = strings.Replace(before, ": field ", ": unknown field ", 1)
		}
		msgs[i] = m
	}
	return errors.New(oneLine(strings.Join(msgs, "; ")))
}

// oneLine escapes the line breaks of values that YAML errors quote.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// routeLines returns the line of each item of the top-level routes list,
// for error messages. It returns nil if the layout is unexpected.
func routeLines(data []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "routes" {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}

// routeYAML is one route as written in the file.
type routeYAML struct {
	Pattern    string         `yaml:"pattern"`
	Revalidate revalidateYAML `yaml:"revalidate"`
	Fallback   fallbackYAML   `yaml:"fallback"`
	Paths      []string       `yaml:"paths"`
	Query      []string       `yaml:"query"`
	Tags       []string       `yaml:"tags"`
	Bypass     bool           `yaml:"bypass"`
}

// route validates ry and converts it.
func (ry routeYAML) route() (isr.Route, error) {
	r := isr.Route{
		Pattern:    ry.Pattern,
		Revalidate: time.Duration(ry.Revalidate),
		Fallback:   isr.Fallback(ry.Fallback),
		Query:      ry.Query,
		Tags:       ry.Tags,
		Bypass:     ry.Bypass,
	}
	if len(r.Query) == 0 {
		r.Query = nil
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	if r.Pattern == "" {
		return r, errors.New("pattern is required")
	}
	for _, p := range ry.Paths {
		cp, err := isr.ParsePath(p)
		if err != nil {
			return r, err
		}
		r.Paths = append(r.Paths, cp)
	}
	return r, r.Check()
}

// revalidateYAML is a route's revalidate value: whole seconds, a duration
// string, or false for isr.Never. Missing or null means unset.
type revalidateYAML time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (rv *revalidateYAML) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("line %d: revalidate %q must be positive seconds, a duration such as 30s, or false", n.Line, n.Value)
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	switch n.ShortTag() {
	case "!!bool":
		if n.Value != "false" {
			return bad
		}
		*rv = revalidateYAML(isr.Never)
		return nil
	case "!!int", "!!str":
		d, err := durationOrSeconds(n.Value)
		if err != nil || d <= 0 {
			return bad
		}
		*rv = revalidateYAML(d)
		return nil
	}
	return bad
}

// fallbackYAML is a route's fallback value: blocking or false.
type fallbackYAML isr.Fallback

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *fallbackYAML) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "blocking":
			*f = fallbackYAML(isr.FallbackBlocking)
			return nil
		case "false":
			*f = fallbackYAML(isr.FallbackFalse)
			return nil
		}
	}
	return fmt.Errorf("line %d: fallback %q must be blocking or false (true is not supported)", n.Line, n.Value)
}
