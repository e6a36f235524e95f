package compose

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// This file parses the repository's Dockerfile by hand.
// github.com/moby/buildkit/frontend/dockerfile/parser would do it, but
// `go get` of it adds five modules (buildkit, protobuf, vtprotobuf,
// typeurl, pkg/errors), upgrades golang.org/x/term and raises go.mod's go
// line to 1.26.8; this file's few lines cover the subset the Dockerfile
// uses, and reject what they do not understand (heredocs, escape
// directives).

// An instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY…
	args string // the rest of the line, continuations joined with a space
	line int    // first line, 1-based
}

// A stage is a FROM and the instructions up to the next FROM.
type stage struct {
	name, base, platform string
	ins                  []instruction
}

// find returns the stage's instructions of command cmd.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	directives map[string]string // parser directives: syntax=…
	globalArgs []instruction     // ARGs before the first FROM
	stages     []stage
}

// stage returns the stage named name.
func (d dockerfile) stage(name string) (stage, bool) {
	for _, s := range d.stages {
		if s.name == name {
			return s, true
		}
	}
	return stage{}, false
}

// readDockerfile parses the file at path.
func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// parseDockerfile parses text: parser directives at the top, comments,
// backslash continuations, FROM [--platform=P] IMAGE [AS NAME].
func parseDockerfile(text string) (dockerfile, error) {
	d := dockerfile{directives: map[string]string{}}
	lines := strings.Split(text, "\n")
	var ins []instruction
	inDirectives := true
	var cur *instruction
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			if inDirectives && cur == nil {
				if k, v, ok := strings.Cut(strings.TrimSpace(line[1:]), "="); ok && !strings.ContainsAny(k, " \t") {
					k = strings.ToLower(k)
					if k == "escape" {
						return d, fmt.Errorf("line %d: the escape directive is not supported by this parser", i+1)
					}
					d.directives[k] = strings.TrimSpace(v)
					continue
				}
			}
			inDirectives = false
			continue // a comment, also inside a continuation
		}
		inDirectives = false
		if line == "" {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSpace(strings.TrimSuffix(line, `\`))
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: i + 1}
		} else {
			cur.args = strings.TrimSpace(cur.args + " " + line)
		}
		if strings.Contains(cur.args, "<<") {
			return d, fmt.Errorf("line %d: heredocs are not supported by this parser", cur.line)
		}
		if !cont {
			ins = append(ins, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return d, fmt.Errorf("line %d: the file ends in a continuation", cur.line)
	}
	for _, in := range ins {
		if in.cmd == "FROM" {
			s, err := parseFrom(in)
			if err != nil {
				return d, err
			}
			d.stages = append(d.stages, s)
			continue
		}
		if len(d.stages) == 0 {
			if in.cmd != "ARG" {
				return d, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			d.globalArgs = append(d.globalArgs, in)
			continue
		}
		last := &d.stages[len(d.stages)-1]
		last.ins = append(last.ins, in)
	}
	return d, nil
}

// parseFrom parses FROM [--platform=P] IMAGE [AS NAME].
func parseFrom(in instruction) (stage, error) {
	f := strings.Fields(in.args)
	var s stage
	if len(f) > 0 && strings.HasPrefix(f[0], "--platform=") {
		s.platform = strings.TrimPrefix(f[0], "--platform=")
		f = f[1:]
	}
	switch {
	case len(f) == 1:
		s.base = f[0]
	case len(f) == 3 && strings.EqualFold(f[1], "AS"):
		s.base, s.name = f[0], strings.ToLower(f[2])
	default:
		return s, fmt.Errorf("line %d: cannot parse FROM %s", in.line, in.args)
	}
	return s, nil
}

// execForm decodes an exec-form argument list (["/bin/x", "arg"]); ok is
// false for the shell form.
func execForm(args string) (argv []string, ok bool) {
	if !strings.HasPrefix(strings.TrimSpace(args), "[") {
		return nil, false
	}
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		return nil, false
	}
	return argv, true
}

// flagsAndWords splits args into leading --flag=value options and the
// remaining words.
func flagsAndWords(args string) (flags map[string]string, words []string) {
	flags = map[string]string{}
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	return flags, f
}

// keyValues parses ENV or LABEL arguments in the KEY=VALUE form, values
// optionally double-quoted.
func keyValues(args string) (map[string]string, error) {
	out := map[string]string{}
	rest := strings.TrimSpace(args)
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("not KEY=VALUE: %q", rest)
		}
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", rest)
			}
			out[k] = v[1 : end+1]
			rest = strings.TrimSpace(v[end+2:])
			continue
		}
		val, after, _ := strings.Cut(v, " ")
		out[k] = val
		rest = strings.TrimSpace(after)
	}
	return out, nil
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	d, err := parseDockerfile("# syntax=docker/dockerfile:1\n# a comment\nARG V=1\n" +
		"FROM --platform=$BUILDPLATFORM golang:${V} AS Build\nRUN a \\\n  # inside\n  b\n" +
		"FROM scratch\nLABEL a=\"x y\" b=z\nENTRYPOINT [\"/x\", \"y\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if d.directives["syntax"] != "docker/dockerfile:1" || len(d.globalArgs) != 1 || len(d.stages) != 2 {
		t.Fatalf("got %+v", d)
	}
	b := d.stages[0]
	if b.name != "build" || b.base != "golang:${V}" || b.platform != "$BUILDPLATFORM" || len(b.ins) != 1 || b.ins[0].args != "a b" {
		t.Errorf("build stage: got %+v", b)
	}
	l, err := keyValues(d.stages[1].find("LABEL")[0].args)
	if err != nil || l["a"] != "x y" || l["b"] != "z" {
		t.Errorf("LABEL: got %v, %v", l, err)
	}
	if argv, ok := execForm(d.stages[1].find("ENTRYPOINT")[0].args); !ok || strings.Join(argv, ",") != "/x,y" {
		t.Errorf("ENTRYPOINT: got %q", argv)
	}
	for _, bad := range []string{"RUN x\n", "FROM a b\n", "FROM a\nRUN <<EOF\nx\nEOF\n", "# escape=`\nFROM a\n", "FROM a\nRUN x \\\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q): no error", bad)
		}
	}
}

// repoRoot returns the repository root: the directory of go.mod, two levels up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}
