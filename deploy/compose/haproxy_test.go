package compose

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
)

// haproxyConfig is haproxy.cfg as sections: "backend isrcache" → its lines,
// each split into words, comments removed.
type haproxyConfig map[string][][]string

// readHAProxy parses the HAProxy configuration at path: a line that starts
// in the first column opens a section, indented lines belong to it.
func readHAProxy(t *testing.T, path string) haproxyConfig {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := haproxyConfig{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		if i := strings.Index(raw, "#"); i >= 0 {
			raw = raw[:i]
		}
		words := strings.Fields(raw)
		if len(words) == 0 {
			continue
		}
		if raw[0] != ' ' && raw[0] != '\t' {
			section = strings.Join(words, " ")
			if _, dup := cfg[section]; dup {
				t.Fatalf("%s: section %q twice", path, section)
			}
			cfg[section] = nil
			continue
		}
		if section == "" {
			t.Fatalf("%s: %q outside a section", path, raw)
		}
		cfg[section] = append(cfg[section], words)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// lines returns the lines of section whose words start with prefix.
func (c haproxyConfig) lines(section string, prefix ...string) [][]string {
	var out [][]string
	for _, l := range c[section] {
		if len(l) >= len(prefix) && strings.Join(l[:len(prefix)], " ") == strings.Join(prefix, " ") {
			out = append(out, l)
		}
	}
	return out
}

// has reports whether section has the line want, word for word.
func (c haproxyConfig) has(section, want string) bool {
	for _, l := range c[section] {
		if strings.Join(l, " ") == want {
			return true
		}
	}
	return false
}

// lbServer is a server line of the backend: its name and address.
type lbServer struct {
	name, host, port string
}

// lbFrontend checks the frontend and backend of cfg and returns the port the
// frontend binds and the backend's servers.
func lbFrontend(t *testing.T, cfg haproxyConfig) (bindPort string, servers []lbServer) {
	t.Helper()
	fe, be := "frontend web", "backend isrcache"
	binds := cfg.lines(fe, "bind")
	if len(binds) != 1 || len(binds[0]) != 2 {
		t.Fatalf("haproxy.cfg %s: bind lines %q, want one bind :PORT", fe, binds)
	}
	host, bindPort, err := net.SplitHostPort(binds[0][1])
	if err != nil || host != "" {
		t.Errorf("haproxy.cfg: bind %s, want :PORT (every interface of the container)", binds[0][1])
	}
	if !cfg.has(fe, "default_backend isrcache") {
		t.Errorf("haproxy.cfg %s does not send to backend isrcache", fe)
	}
	for _, want := range []string{
		"balance roundrobin",
		"option httpchk",
		"http-check send meth GET uri /readyz",
		"http-check expect status 200",
		// The header that names the replica, shown in README.md.
		"http-response set-header X-Replica %[srv_name]",
	} {
		if !cfg.has(be, want) {
			t.Errorf("haproxy.cfg %s lacks %q", be, want)
		}
	}
	ds := cfg.lines(be, "default-server")
	if len(ds) != 1 || !strings.Contains(strings.Join(ds[0], " "), " check ") ||
		!strings.Contains(strings.Join(ds[0], " "), " resolvers docker ") {
		t.Errorf("haproxy.cfg %s: default-server %q, want health checks and the docker resolvers", be, ds)
	}
	if !cfg.has("resolvers docker", "nameserver dns 127.0.0.11:53") {
		t.Errorf("haproxy.cfg: resolvers docker does not use Docker's embedded DNS 127.0.0.11:53")
	}
	for _, l := range cfg.lines(be, "server") {
		if len(l) != 3 {
			t.Errorf("haproxy.cfg: %q, want server NAME HOST:PORT (options go on default-server)", l)
			continue
		}
		host, port, err := net.SplitHostPort(l[2])
		if err != nil {
			t.Errorf("haproxy.cfg: %q: %v", l, err)
			continue
		}
		servers = append(servers, lbServer{name: l[1], host: host, port: port})
	}
	return bindPort, servers
}
