package compose

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeComposeSection checks that the names docs/compose.md (the
// Docker Compose guide the README links to) uses are those of the files:
// services, the port, the replica header, the token file and the binary
// path.
func TestReadmeComposeSection(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "compose.md"))
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "<!-- section: docker compose (local stack) -->"
	_, sec, ok := strings.Cut(string(b), anchor)
	if !ok {
		t.Fatalf("docs/compose.md has no %q", anchor)
	}
	if i := strings.Index(sec, "<!-- section:"); i >= 0 {
		sec = sec[:i]
	}
	if !strings.Contains(sec, "docker compose up --build") {
		t.Fatal("docs/compose.md's compose section does not say docker compose up --build")
	}

	p := loadProject(t, nil)
	for _, m := range regexp.MustCompile(`docker compose (?:stop|start|logs|exec|restart) ([a-z0-9-]+)`).FindAllStringSubmatch(sec, -1) {
		if _, ok := p.Services[m[1]]; !ok {
			t.Errorf("docs/compose.md: %q names no service of docker-compose.yml", m[0])
		}
	}
	for _, m := range regexp.MustCompile(`isrcache-[0-9]+`).FindAllString(sec, -1) {
		if _, ok := p.Services[m]; !ok {
			t.Errorf("docs/compose.md: %s is not a replica service", m)
		}
	}
	port := p.Services[lbService].Ports[0].Published
	for _, m := range regexp.MustCompile(`localhost:([0-9]+)`).FindAllStringSubmatch(sec, -1) {
		if m[1] != port {
			t.Errorf("docs/compose.md: %s, but the load balancer publishes %s", m[0], port)
		}
	}
	if rel, _ := filepath.Rel(root, p.Secrets["revalidate_secret"].File); !strings.Contains(sec, "$(cat "+rel+")") {
		t.Errorf("docs/compose.md does not read the token from %s", rel)
	}
	if !strings.Contains(strings.ToLower(sec), "x-replica: ") {
		t.Error("docs/compose.md does not show the X-Replica header that haproxy.cfg sets")
	}
	if !strings.Contains(sec, binPath("isrcache")+" healthcheck") {
		t.Errorf("docs/compose.md does not run %s healthcheck", binPath("isrcache"))
	}
}
