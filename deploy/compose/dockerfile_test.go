package compose

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runtimeStages are the Dockerfile's final targets, each named after the
// command it runs, with the port its listen variable defaults to. The last
// one is the default target.
var runtimeStages = []struct{ name, addrVar, port string }{
	{"demo-origin", "DEMO_ADDR", "3000"},
	{"isrcache", "ISR_ADDR", "8080"},
}

// binPath is where the Dockerfile installs the command name.
func binPath(name string) string { return "/usr/local/bin/" + name }

// TestDockerfile checks the Dockerfile's structure: a cached module layer,
// static binaries of packages that exist, and non-root, shell-less
// runtime images whose entry point and health check are those binaries.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	d := readDockerfile(t, filepath.Join(root, "Dockerfile"))

	if got := d.directives["syntax"]; got != "docker/dockerfile:1" {
		t.Errorf("syntax directive: got %q, want docker/dockerfile:1 (the RUN cache mount needs BuildKit)", got)
	}
	var names []string
	for _, s := range d.stages {
		names = append(names, s.name)
	}
	want := []string{"build"}
	for _, r := range runtimeStages {
		want = append(want, r.name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("stages: got %q, want %q (the last one is the default target)", names, want)
	}

	checkBuildStage(t, root, d)
	for _, r := range runtimeStages {
		s, _ := d.stage(r.name)
		checkRuntimeStage(t, s, r.addrVar, r.port)
	}
}

// checkBuildStage checks the Go version, the module layer and the go build
// command of the build stage.
func checkBuildStage(t *testing.T, root string, d dockerfile) {
	t.Helper()
	b, _ := d.stage("build")
	goVersion := goDirective(t, root)
	var argVersion string
	for _, a := range d.globalArgs {
		if k, v, _ := strings.Cut(a.args, "="); k == "GO_VERSION" {
			argVersion = v
		}
	}
	if argVersion == "" || !strings.HasPrefix(goVersion+".", argVersion+".") {
		t.Errorf("ARG GO_VERSION=%q does not match go.mod's go %s", argVersion, goVersion)
	}
	if b.base != "golang:${GO_VERSION}" || b.platform != "$BUILDPLATFORM" {
		t.Errorf("build stage: FROM --platform=%s %s, want --platform=$BUILDPLATFORM golang:${GO_VERSION}", b.platform, b.base)
	}

	// go.mod and go.sum are copied, then the modules downloaded, before any
	// source is copied: editing a .go file keeps the module layer.
	order := map[string]int{}
	var build instruction
	for i, in := range b.ins {
		switch {
		case in.cmd == "COPY" && in.args == "go.mod go.sum ./":
			order["copy go.mod"] = i + 1
		case in.cmd == "RUN" && in.args == "go mod download":
			order["download"] = i + 1
		case in.cmd == "COPY" && order["source"] == 0 && order["copy go.mod"] != 0:
			order["source"] = i + 1
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			order["build"] = i + 1
			build = in
		}
	}
	if !(order["copy go.mod"] > 0 && order["copy go.mod"] < order["download"] &&
		order["download"] < order["source"] && order["source"] < order["build"]) {
		t.Errorf("build stage order (instruction numbers): got %v, want COPY go.mod go.sum ./ < RUN go mod download < COPY sources < RUN go build", order)
	}

	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags='-s -w'", "-o /out/", "--mount=type=cache,target=/root/.cache/go-build"} {
		if !strings.Contains(build.args, want) {
			t.Errorf("go build (line %d) lacks %s: %s", build.line, want, build.args)
		}
	}
	var pkgs []string
	for _, f := range strings.Fields(build.args) {
		if strings.HasPrefix(f, "./cmd/") {
			pkgs = append(pkgs, f)
		}
	}
	var wantPkgs []string
	for _, r := range runtimeStages {
		wantPkgs = append(wantPkgs, "./cmd/"+r.name)
	}
	slices.Sort(pkgs)
	if !slices.Equal(pkgs, wantPkgs) {
		t.Errorf("go build packages: got %q, want %q (one per runtime stage)", pkgs, wantPkgs)
	}
	// Each is a main package, whose binary go build -o /out/ names after
	// its directory.
	args := append([]string{"list", "-f", "{{.Name}} {{.ImportPath}}"}, pkgs...)
	out := goCmd(t, root, args...)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "main ") {
			t.Errorf("go list: %q is not a main package", l)
		}
	}
}

// checkRuntimeStage checks a final target: distroless, no RUN, non-root,
// the binary from the build stage as entry point and health check, its
// port and OCI labels.
func checkRuntimeStage(t *testing.T, s stage, addrVar, port string) {
	t.Helper()
	bin := binPath(s.name)
	if !strings.HasPrefix(s.base, "gcr.io/distroless/static") || !strings.HasSuffix(s.base, ":nonroot") {
		t.Errorf("%s: FROM %s, want gcr.io/distroless/static…:nonroot", s.name, s.base)
	}
	if runs := s.find("RUN"); len(runs) > 0 {
		t.Errorf("%s: RUN at line %d: the runtime image has no shell", s.name, runs[0].line)
	}
	users := s.find("USER")
	if len(users) == 0 {
		t.Errorf("%s: no USER", s.name)
	} else {
		user, group, _ := strings.Cut(users[len(users)-1].args, ":")
		if user == "" || user == "0" || user == "root" || group == "0" || group == "root" {
			t.Errorf("%s: USER %s, want a non-root user", s.name, users[len(users)-1].args)
		}
	}
	copies := s.find("COPY")
	if len(copies) != 1 {
		t.Fatalf("%s: got %d COPY, want 1 (the binary)", s.name, len(copies))
	}
	flags, words := flagsAndWords(copies[0].args)
	if flags["from"] != "build" || !slices.Equal(words, []string{"/out/" + s.name, bin}) {
		t.Errorf("%s: COPY %s, want COPY --from=build /out/%s %s", s.name, copies[0].args, s.name, bin)
	}
	if e := s.find("ENTRYPOINT"); len(e) != 1 {
		t.Errorf("%s: got %d ENTRYPOINT, want 1", s.name, len(e))
	} else if argv, ok := execForm(e[0].args); !ok || !slices.Equal(argv, []string{bin}) {
		t.Errorf("%s: ENTRYPOINT %s, want the exec form [%q]", s.name, e[0].args, bin)
	}
	if h := s.find("HEALTHCHECK"); len(h) != 1 {
		t.Errorf("%s: got %d HEALTHCHECK, want 1", s.name, len(h))
	} else {
		_, words := flagsAndWords(h[0].args)
		cmd := strings.Join(words, " ")
		if argv, ok := execForm(strings.TrimPrefix(cmd, "CMD ")); !strings.HasPrefix(cmd, "CMD ") || !ok ||
			!slices.Equal(argv, []string{bin, "healthcheck"}) {
			t.Errorf("%s: HEALTHCHECK %s, want CMD [%q, \"healthcheck\"]", s.name, h[0].args, bin)
		}
	}
	env := map[string]string{}
	for _, in := range s.find("ENV") {
		kv, err := keyValues(in.args)
		if err != nil {
			t.Errorf("%s: ENV line %d: %v", s.name, in.line, err)
		}
		for k, v := range kv {
			env[k] = v
		}
	}
	if env[addrVar] != ":"+port {
		t.Errorf("%s: ENV %s=%q, want %q", s.name, addrVar, env[addrVar], ":"+port)
	}
	if e := s.find("EXPOSE"); len(e) != 1 || e[0].args != port {
		t.Errorf("%s: EXPOSE %v, want EXPOSE %s", s.name, e, port)
	}
	labels := map[string]string{}
	for _, in := range s.find("LABEL") {
		kv, err := keyValues(in.args)
		if err != nil {
			t.Errorf("%s: LABEL line %d: %v", s.name, in.line, err)
		}
		for k, v := range kv {
			labels[k] = v
		}
	}
	for _, k := range []string{"title", "description", "source"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("%s: no LABEL org.opencontainers.image.%s", s.name, k)
		}
	}
}

// TestDockerignore checks that .dockerignore lets in go.mod, go.sum and
// every package of this module that the images build, and nothing else
// at the top level: the build context holds no .git, .env or secret.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(patterns) == 0 || patterns[0] != "*" {
		t.Fatalf(".dockerignore: got %q, want an allow list that starts with *", patterns)
	}
	allowed := map[string]bool{}
	for _, p := range patterns[1:] {
		switch {
		case strings.HasPrefix(p, "!") && !strings.ContainsAny(p[1:], "/*?[") && p[1:] != "..":
			allowed[p[1:]] = true
		case p == "**/testdata" || p == "**/*_test.go":
			// Test files and data: not needed to build.
		default:
			t.Errorf(".dockerignore: pattern %q is not one this test understands: a top-level !name, **/testdata or **/*_test.go", p)
		}
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		if !allowed[name] {
			t.Errorf(".dockerignore does not let in %s", name)
		}
	}
	for name := range allowed {
		if strings.HasPrefix(name, ".") || name == "deploy" || name == "bin" {
			t.Errorf(".dockerignore lets in %s, which the build does not need", name)
		}
	}

	var pkgs []string
	for _, r := range runtimeStages {
		pkgs = append(pkgs, "./cmd/"+r.name)
	}
	module := strings.TrimSpace(goCmd(t, root, "list", "-m"))
	out := goCmd(t, root, append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)...)
	for _, imp := range strings.Fields(out) {
		rel, ok := strings.CutPrefix(imp, module+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		if !allowed[top] {
			t.Errorf(".dockerignore leaves out %s/, which %s needs", top, imp)
		}
		if regexp.MustCompile(`(^|/)testdata(/|$)`).MatchString(rel) {
			t.Errorf("%s is under testdata, which .dockerignore leaves out", imp)
		}
	}
}

// goDirective returns the go line of go.mod ("1.26.0").
func goDirective(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}
