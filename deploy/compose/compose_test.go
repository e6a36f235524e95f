package compose

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/isrcache/isrcache/internal/config"
)

// The service names of docker-compose.yml.
const (
	redisService  = "redis"
	originService = "origin"
	lbService     = "lb"
)

// replicaServices are the isrcache replicas, named as haproxy.cfg names
// its servers.
var replicaServices = []string{"isrcache-1", "isrcache-2", "isrcache-3"}

// Paths inside the images.
const (
	haproxyConfigTarget = "/usr/local/etc/haproxy/haproxy.cfg"
	demoSecretFile      = "deploy/compose/demo-revalidate-secret"
)

// loadProject loads docker-compose.yml as docker compose does from the
// repository root, with the variables of env and of the env files (in
// docker compose, .env), but not the test's own environment, which would
// make the result depend on the machine.
func loadProject(t *testing.T, env []string, envFiles ...string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(root),
		cli.WithName("isrcache"),
		cli.WithEnv(env),
		cli.WithResolvedPaths(true),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	}
	if len(envFiles) > 0 {
		for i, f := range envFiles {
			envFiles[i] = filepath.Join(root, f)
		}
		opts = append(opts, cli.WithEnvFiles(envFiles...), cli.WithDotEnv)
	}
	// As docker compose does: the profiles of COMPOSE_PROFILES, which an
	// env file may set (deploy/compose/nextjs.env does).
	opts = append(opts, cli.WithDefaultProfiles())
	o, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

// TestComposeFreshClone checks the stack that `docker compose up` starts in
// a fresh clone: no .env, no variables set.
func TestComposeFreshClone(t *testing.T) {
	t.Parallel()
	p := loadProject(t, nil)
	checkStack(t, p)
	// The default secret is the committed demo token.
	if got, want := p.Secrets["revalidate_secret"].File, filepath.Join(repoRoot(t), demoSecretFile); got != want {
		t.Errorf("revalidate_secret file: got %s, want %s", got, want)
	}
	if lb := p.Services[lbService]; len(lb.Ports) == 1 && lb.Ports[0].Published != "8080" {
		t.Errorf("lb: published port %s, want 8080 by default (README.md uses it)", lb.Ports[0].Published)
	}
}

// TestComposeEnvExample checks the stack with .env.example as .env, and
// with the variables it documents set to other values.
func TestComposeEnvExample(t *testing.T) {
	t.Parallel()
	checkStack(t, loadProject(t, nil, ".env.example"))

	p := loadProject(t, []string{"LB_PORT=9090", "REVALIDATE_SECRET_FILE=./deploy/compose/secrets/revalidate-secret"})
	checkStack(t, p)
	if got, want := p.Secrets["revalidate_secret"].File, filepath.Join(repoRoot(t), "deploy/compose/secrets/revalidate-secret"); got != want {
		t.Errorf("REVALIDATE_SECRET_FILE: secret file %s, want %s", got, want)
	}
	if got := p.Services[lbService].Ports[0].Published; got != "9090" {
		t.Errorf("LB_PORT=9090: published port %s", got)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"LB_PORT", "REVALIDATE_SECRET_FILE"} {
		if !strings.Contains(string(b), v+"=") {
			t.Errorf(".env.example does not document %s", v)
		}
	}
}

// checkStack checks the services of p and how they point at each other.
func checkStack(t *testing.T, p *types.Project) {
	t.Helper()
	root := repoRoot(t)
	var names []string
	for name := range p.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	want := append([]string{lbService, originService, redisService}, replicaServices...)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("services: got %q, want %q", names, want)
	}
	d := readDockerfile(t, filepath.Join(root, "Dockerfile"))
	lbCfg := readHAProxy(t, filepath.Join(root, "deploy/compose/haproxy.cfg"))
	bindPort, servers := lbFrontend(t, lbCfg)

	redisPort := checkRedis(t, p.Services[redisService])
	originPort := checkOrigin(t, root, d, p.Services[originService])

	// The load balancer's servers are the replicas, on their ISR_ADDR port.
	byName := map[string]lbServer{}
	for _, s := range servers {
		if s.name != s.host {
			t.Errorf("haproxy.cfg: server %s %s:%s, want the name to be the host (X-Replica shows the name)", s.name, s.host, s.port)
		}
		byName[s.host] = s
	}
	if len(byName) != len(servers) || len(servers) != len(replicaServices) {
		t.Errorf("haproxy.cfg servers %v, want one per replica %q", servers, replicaServices)
	}
	for _, name := range replicaServices {
		s := p.Services[name]
		addrPort := checkReplica(t, root, d, p, s, redisPort, originPort)
		if srv, ok := byName[name]; !ok {
			t.Errorf("haproxy.cfg has no server for replica %s", name)
		} else if srv.port != addrPort {
			t.Errorf("haproxy.cfg sends to %s:%s, but %s listens on port %s (ISR_ADDR)", srv.host, srv.port, name, addrPort)
		}
	}
	checkLB(t, root, p.Services[lbService], bindPort)
}

// checkRedis checks the Redis service and returns its port.
func checkRedis(t *testing.T, s types.ServiceConfig) (port string) {
	t.Helper()
	if !strings.HasPrefix(s.Image, "redis:") {
		t.Errorf("redis: image %q, want the official redis image", s.Image)
	}
	args := map[string]string{}
	cmd := s.Command
	if len(cmd) == 0 || cmd[0] != "redis-server" {
		t.Fatalf("redis: command %q, want redis-server with options", cmd)
	}
	for i := 1; i+1 < len(cmd); i += 2 {
		if !strings.HasPrefix(cmd[i], "--") {
			t.Fatalf("redis: command %q: %q is not an --option followed by its value", cmd, cmd[i])
		}
		args[cmd[i]] = cmd[i+1]
	}
	if len(cmd)%2 != 1 {
		t.Fatalf("redis: command %q: an option lacks its value", cmd)
	}
	if m := args["--maxmemory"]; m == "" || m == "0" {
		t.Errorf("redis: --maxmemory %q, want a limit", m)
	}
	if pol := args["--maxmemory-policy"]; pol != "allkeys-lru" && pol != "allkeys-lfu" {
		t.Errorf("redis: --maxmemory-policy %q, want allkeys-lru (every key may be evicted: it is a cache)", pol)
	}
	if v, ok := args["--save"]; !ok || v != "" {
		t.Errorf(`redis: --save %q, want "" (no snapshots)`, v)
	}
	if args["--appendonly"] != "no" {
		t.Errorf("redis: --appendonly %q, want no", args["--appendonly"])
	}
	checkHealthcheck(t, s, []string{"CMD", "redis-cli", "ping"})
	checkUnpublished(t, s)
	if port = args["--port"]; port == "" {
		port = "6379"
	}
	return port
}

// checkOrigin checks the demo origin service and returns its port.
func checkOrigin(t *testing.T, root string, d dockerfile, s types.ServiceConfig) (port string) {
	t.Helper()
	checkBuild(t, root, d, s, "demo-origin")
	port = envPort(t, s, "DEMO_ADDR")
	checkHealthcheck(t, s, []string{"CMD", binPath("demo-origin"), "healthcheck"})
	checkUnpublished(t, s)
	return port
}

// checkReplica checks one isrcache replica and returns the port of its
// ISR_ADDR.
func checkReplica(t *testing.T, root string, d dockerfile, p *types.Project, s types.ServiceConfig, redisPort, originPort string) (port string) {
	t.Helper()
	checkBuild(t, root, d, s, "isrcache")
	if s.Hostname != s.Name {
		t.Errorf("%s: hostname %q, want the service name (the replica field of its logs)", s.Name, s.Hostname)
	}
	port = envPort(t, s, "ISR_ADDR")
	checkURL(t, s, "ISR_ORIGIN", "http", originService, originPort)
	checkURL(t, s, "ISR_REDIS_URL", "redis", redisService, redisPort)
	checkHealthcheck(t, s, []string{"CMD", binPath("isrcache"), "healthcheck"})
	checkUnpublished(t, s)
	for _, dep := range []string{redisService, originService} {
		if c := s.DependsOn[dep].Condition; c != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on %s condition %q, want %s", s.Name, dep, c, types.ServiceConditionHealthy)
		}
	}
	if sg := s.StopGracePeriod; sg == nil || *sg < types.Duration(25e9) {
		t.Errorf("%s: stop_grace_period %v, want at least the drain delay plus the shutdown timeout (25s)", s.Name, sg)
	}

	// The revalidate secret is a file mounted from a compose secret, which
	// is itself a file or a variable: never a literal in the environment.
	if _, ok := s.Environment["ISR_REVALIDATE_SECRET"]; ok {
		t.Errorf("%s: ISR_REVALIDATE_SECRET is set in the compose file; use the secret file", s.Name)
	}
	if len(s.Secrets) != 1 {
		t.Fatalf("%s: secrets %v, want revalidate_secret", s.Name, s.Secrets)
	}
	ref := s.Secrets[0]
	target := ref.Target
	if target == "" {
		target = ref.Source
	}
	if !strings.HasPrefix(target, "/") {
		target = "/run/secrets/" + target
	}
	if got := env(s, "ISR_REVALIDATE_SECRET_FILE"); got != target {
		t.Errorf("%s: ISR_REVALIDATE_SECRET_FILE=%q, want the mounted secret %s", s.Name, got, target)
	}
	sec, ok := p.Secrets[ref.Source]
	if !ok || (sec.File == "" && sec.Environment == "") || sec.Content != "" || bool(sec.External) {
		t.Fatalf("%s: secret %q is %+v, want one read from a file or a variable", s.Name, ref.Source, sec)
	}

	// The replica's environment is a valid configuration, with the secret
	// file where the container would see it.
	if sec.File == "" || !strings.HasPrefix(sec.File, root) {
		return port
	}
	if _, err := os.Stat(sec.File); os.IsNotExist(err) {
		return port // a user's own secret, not in the repository
	}
	cfg, err := config.Load(nil, func(k string) string {
		if k == "ISR_REVALIDATE_SECRET_FILE" {
			return sec.File
		}
		return env(s, k)
	})
	if err != nil {
		t.Fatalf("%s: its environment is not a valid isrcache configuration: %v", s.Name, err)
	}
	if cfg.RevalidateSecret == "" || cfg.RedisURL == "" {
		t.Errorf("%s: revalidation enabled %v, Redis %q; want both", s.Name, cfg.RevalidateSecret != "", cfg.RedisURL)
	}
	return port
}

// checkLB checks that the load balancer publishes exactly one port, on the
// host's loopback interface, to the port haproxy.cfg binds, that it reads
// haproxy.cfg from the repository and that it waits for the replicas.
func checkLB(t *testing.T, root string, s types.ServiceConfig, bindPort string) {
	t.Helper()
	if !strings.HasPrefix(s.Image, "haproxy:") {
		t.Errorf("lb: image %q, want the official haproxy image", s.Image)
	}
	if len(s.Ports) != 1 {
		t.Fatalf("lb: ports %+v, want exactly one", s.Ports)
	}
	port := s.Ports[0]
	if port.HostIP != "127.0.0.1" || port.Published == "" || port.Protocol != "tcp" {
		t.Errorf("lb: port %+v, want 127.0.0.1:PORT, tcp", port)
	}
	if got := port.Target; bindPort == "" || got == 0 || net.JoinHostPort("", bindPort) != net.JoinHostPort("", strconv.FormatUint(uint64(got), 10)) {
		t.Errorf("lb: publishes container port %d, haproxy.cfg binds %s", got, bindPort)
	}
	var mounted bool
	for _, v := range s.Volumes {
		if v.Target == haproxyConfigTarget {
			mounted = true
			if v.Source != filepath.Join(root, "deploy/compose/haproxy.cfg") || !v.ReadOnly || v.Type != types.VolumeTypeBind {
				t.Errorf("lb: %s mounted from %s (read-only %v), want deploy/compose/haproxy.cfg, read-only", v.Target, v.Source, v.ReadOnly)
			}
		}
	}
	if !mounted {
		t.Errorf("lb: nothing mounted on %s", haproxyConfigTarget)
	}
	for _, r := range replicaServices {
		if c := s.DependsOn[r].Condition; c != types.ServiceConditionHealthy {
			t.Errorf("lb: depends_on %s condition %q, want %s", r, c, types.ServiceConditionHealthy)
		}
	}
}

// checkBuild checks that s is built from the repository's Dockerfile, at
// the stage target.
func checkBuild(t *testing.T, root string, d dockerfile, s types.ServiceConfig, target string) {
	t.Helper()
	if s.Build == nil {
		t.Fatalf("%s: no build", s.Name)
	}
	if s.Build.Context != root || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") || s.Build.Target != target {
		t.Errorf("%s: build %s/%s target %q, want the repository's Dockerfile, target %s", s.Name, s.Build.Context, s.Build.Dockerfile, s.Build.Target, target)
	}
	if _, ok := d.stage(target); !ok {
		t.Errorf("%s: the Dockerfile has no stage %s", s.Name, target)
	}
}

// checkHealthcheck checks that s has the health check test.
func checkHealthcheck(t *testing.T, s types.ServiceConfig, test []string) {
	t.Helper()
	h := s.HealthCheck
	if h == nil || h.Disable || !slices.Equal(h.Test, test) {
		t.Errorf("%s: healthcheck %+v, want test %q", s.Name, h, test)
		return
	}
	if h.Interval == nil || h.Timeout == nil || h.Retries == nil {
		t.Errorf("%s: healthcheck without interval, timeout or retries", s.Name)
	}
}

// checkUnpublished checks that s publishes no port: only the load balancer
// does.
func checkUnpublished(t *testing.T, s types.ServiceConfig) {
	t.Helper()
	if len(s.Ports) > 0 {
		t.Errorf("%s: publishes %+v; only the load balancer publishes a port", s.Name, s.Ports)
	}
}

// checkURL checks that the variable name of s holds a URL of scheme on
// host:port.
func checkURL(t *testing.T, s types.ServiceConfig, name, scheme, host, port string) {
	t.Helper()
	u, err := url.Parse(env(s, name))
	if err != nil || u.Scheme != scheme || u.Hostname() != host || u.Port() != port {
		t.Errorf("%s: %s=%q, want %s://%s:%s (the %s service)", s.Name, name, env(s, name), scheme, host, port, host)
	}
}

// envPort returns the port of the listen address in variable name of s.
func envPort(t *testing.T, s types.ServiceConfig, name string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(env(s, name))
	if err != nil || port == "" || port == "0" {
		t.Fatalf("%s: %s=%q, want HOST:PORT with a fixed port", s.Name, name, env(s, name))
	}
	return port
}

// env returns the value of variable name in the environment of s.
func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

// TestComposeNoSecretInFiles checks that the demo token exists for a fresh
// clone, and is written into none of the stack's configuration files.
func TestComposeNoSecretInFiles(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, demoSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		t.Fatalf("%s is empty: the fresh-clone stack would have the revalidate endpoint disabled", demoSecretFile)
	}
	fi, err := os.Stat(filepath.Join(root, demoSecretFile))
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		t.Errorf("%s: mode %v, want readable by others (the containers' user 65532 reads the bind-mounted file)", demoSecretFile, fi.Mode())
	}
	for _, f := range []string{"docker-compose.yml", "Dockerfile", "deploy/compose/haproxy.cfg"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), token) {
			t.Errorf("%s contains the revalidate token", f)
		}
	}
}
