// Package k8s_test checks the Kubernetes manifests under k8s/: every file
// decodes strictly into the Kubernetes API types, and each overlay's
// Deployment is consistent with its Service, autoscaler, disruption budget,
// network policies, ConfigMap and Secret, and with isrcache itself (its
// configuration variables, route file parser and probe endpoints). No
// cluster is needed.
package k8s_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/isrcache/isrcache/internal/config"
	"github.com/isrcache/isrcache/internal/server"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// app is the name of isrcache's Deployment, Service, HPA, PDB, ConfigMap
// and Secret, and its pods' app.kubernetes.io/name label.
const app = "isrcache"

// productionSecret stands in for the Secret that production creates in the
// cluster (docs/kubernetes.md: kubectl create secret generic isrcache with
// these two keys); overlays that ship a Secret use their own.
var productionSecret = map[string]string{
	"ISR_REDIS_URL":    "rediss://default:password@redis.example.com:6379/0",
	"revalidate-token": "token",
}

// A workload is a pod template and the object that owns it.
type workload struct {
	kind, name string
	selector   *metav1.LabelSelector
	template   corev1.PodTemplateSpec
}

func workloads(b bundle) []workload {
	var ws []workload
	for _, d := range all[appsv1.Deployment](b, "Deployment") {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Selector, d.Spec.Template})
	}
	for _, s := range all[appsv1.StatefulSet](b, "StatefulSet") {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Selector, s.Spec.Template})
	}
	return ws
}

// selects reports whether sel (nil: nothing) matches the template's labels.
func selects(t *testing.T, sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(tmpl.Labels))
}

// selected returns the workloads whose pods sel matches.
func selected(t *testing.T, b bundle, sel *metav1.LabelSelector) []workload {
	t.Helper()
	var out []workload
	for _, w := range workloads(b) {
		if selects(t, sel, w.template) {
			out = append(out, w)
		}
	}
	return out
}

func TestOverlays(t *testing.T) {
	t.Parallel()
	for _, dir := range overlays(t) {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			b, dep, p := overlayPod(t, dir)
			if p.container.Name != app {
				t.Fatalf("Deployment %s: want one container named %s", dep.Name, app)
			}
			env, err := p.env()
			if err != nil {
				t.Fatal(err)
			}
			cfg := loadConfig(t, p, env)
			t.Run("selectors", func(t *testing.T) { checkSelectors(t, b) })
			t.Run("security", func(t *testing.T) { checkSecurity(t, b) })
			t.Run("env", func(t *testing.T) { checkEnvNames(t, p.container) })
			t.Run("probes", func(t *testing.T) { checkProbes(t, p.container, cfg) })
			t.Run("shutdown", func(t *testing.T) { checkShutdown(t, dep, cfg) })
			t.Run("memory", func(t *testing.T) { checkMemory(t, p.container, env, cfg) })
			t.Run("scaling", func(t *testing.T) { checkScaling(t, b, dep) })
			t.Run("network", func(t *testing.T) { checkNetwork(t, b, cfg) })
			t.Run("metrics", func(t *testing.T) { checkMetrics(t, b, dep, p.container, cfg) })
			t.Run("redis", func(t *testing.T) { checkDevRedis(t, b, cfg) })
		})
	}
}

// overlayPod builds the overlay in dir and returns it, its isrcache
// Deployment and that Deployment's pod (see isrcachePod).
func overlayPod(t *testing.T, dir string) (bundle, *appsv1.Deployment, pod) {
	t.Helper()
	var b bundle
	build(t, dir, &b)
	dep, _ := b.find("Deployment", app).(*appsv1.Deployment)
	if dep == nil {
		t.Fatalf("no Deployment %q", app)
	}
	return b, dep, isrcachePod(t, b, dep)
}

// isrcachePod returns the isrcache container of dep with the ConfigMaps
// and Secrets of the bundle.
func isrcachePod(t *testing.T, b bundle, dep *appsv1.Deployment) pod {
	t.Helper()
	p := pod{spec: dep.Spec.Template.Spec, configMaps: b.configMaps, secrets: map[string]map[string]string{}}
	if cs := p.spec.Containers; len(cs) == 1 && cs[0].Name == app {
		p.container = cs[0]
	}
	for _, s := range all[corev1.Secret](b, "Secret") {
		p.secrets[s.Name] = secretData(s)
	}
	if _, ok := p.secrets[app]; !ok {
		p.secrets[app] = productionSecret
	}
	return p
}

// loadConfig runs config.Load over the container's environment, with the
// mounted files (route file, revalidate token) copied to a temp dir. It
// checks that the route file parses with config.ParseRoutes too.
func loadConfig(t *testing.T, p pod, env map[string]string) config.Config {
	t.Helper()
	files, err := p.mountFiles(t, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(nil, func(name string) string {
		if copyPath, ok := files[env[name]]; ok {
			return copyPath
		}
		return env[name]
	})
	if err != nil {
		t.Fatalf("config.Load with the Deployment's environment: %v", err)
	}
	if cfg.RoutesFile == "" || cfg.RevalidateSecret == "" || cfg.RedisURL == "" {
		t.Errorf("want a route file, a revalidate token and a Redis URL; got %q, token set %v, %q",
			cfg.RoutesFile, cfg.RevalidateSecret != "", cfg.RedactedRedisURL())
	}
	for _, data := range p.configMaps {
		if routes, ok := data["routes.yaml"]; ok {
			if _, err := config.ParseRoutes([]byte(routes)); err != nil {
				t.Errorf("routes.yaml: %v", err)
			}
		}
	}
	return cfg
}

// checkSelectors checks that every workload's selector matches its pod
// template, and that each Service, PDB and NetworkPolicy selects pods.
func checkSelectors(t *testing.T, b bundle) {
	for _, w := range workloads(b) {
		if !selects(t, w.selector, w.template) {
			t.Errorf("%s %s: selector %v does not match its template's labels %v", w.kind, w.name, w.selector, w.template.Labels)
		}
	}
	for _, s := range all[corev1.Service](b, "Service") {
		ws := selected(t, b, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(ws) == 0 {
			t.Errorf("Service %s selects no pods", s.Name)
			continue
		}
		for _, port := range s.Spec.Ports {
			if containerPort(ws[0].template.Spec.Containers[0], port.TargetPort.String()) == 0 {
				t.Errorf("Service %s: targetPort %s is not a port of %s", s.Name, port.TargetPort.String(), ws[0].name)
			}
		}
	}
	for _, pdb := range all[policyv1.PodDisruptionBudget](b, "PodDisruptionBudget") {
		if len(selected(t, b, pdb.Spec.Selector)) == 0 {
			t.Errorf("PodDisruptionBudget %s selects no pods", pdb.Name)
		}
	}
	for _, np := range all[networkingv1.NetworkPolicy](b, "NetworkPolicy") {
		if len(selected(t, b, &np.Spec.PodSelector)) == 0 {
			t.Errorf("NetworkPolicy %s selects no pods", np.Name)
		}
	}
	for _, ing := range all[networkingv1.Ingress](b, "Ingress") {
		for _, rule := range ing.Spec.Rules {
			for _, path := range rule.HTTP.Paths {
				svc, _ := b.find("Service", path.Backend.Service.Name).(*corev1.Service)
				if svc == nil || !hasServicePort(svc, path.Backend.Service.Port) {
					t.Errorf("Ingress %s: backend %s is not a Service port", ing.Name, jsonString(path.Backend.Service))
				}
			}
		}
	}
}

// containerPort returns the number of c's port named or numbered port, or 0.
func containerPort(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || port == strconv.Itoa(int(p.ContainerPort)) {
			return p.ContainerPort
		}
	}
	return 0
}

func hasServicePort(s *corev1.Service, port networkingv1.ServiceBackendPort) bool {
	for _, p := range s.Spec.Ports {
		if (port.Name != "" && p.Name == port.Name) || (port.Name == "" && p.Port == port.Number) {
			return true
		}
	}
	return false
}

// checkSecurity checks the Pod Security Standards "restricted" fields of
// every workload, and isrcache's distroless user.
func checkSecurity(t *testing.T, b bundle) {
	for _, w := range workloads(b) {
		spec := w.template.Spec
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil ||
			psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s %s: pod securityContext needs runAsNonRoot and seccompProfile RuntimeDefault", w.kind, w.name)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s %s: automountServiceAccountToken must be false", w.kind, w.name)
		}
		for _, c := range spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s %s: container %s needs allowPrivilegeEscalation false, readOnlyRootFilesystem, capabilities drop [ALL]", w.kind, w.name, c.Name)
			}
			if w.name == app && (psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532) {
				t.Errorf("%s %s: runAsUser must be 65532, the distroless image's nonroot user", w.kind, w.name)
			}
		}
	}
}

// checkEnvNames checks that every variable the container sets is one
// isrcache reads (listed by config.Usage), GOMEMLIMIT, or a helper that
// another variable's value references as $(NAME).
func checkEnvNames(t *testing.T, c corev1.Container) {
	var usage strings.Builder
	config.Usage(&usage)
	known := map[string]bool{"GOMEMLIMIT": true}
	for _, name := range regexp.MustCompile(`\bISR_[A-Z0-9_]+\b`).FindAllString(usage.String(), -1) {
		known[name] = true
	}
	for _, e := range c.Env {
		if !known[e.Name] && !referenced(c, e.Name) {
			t.Errorf("env %s: not a variable isrcache reads (config.Usage) nor referenced by another", e.Name)
		}
	}
}

func referenced(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if strings.Contains(e.Value, "$("+name+")") {
			return true
		}
	}
	return false
}

// checkProbes asks a real server (internal/server over an isrmem cache)
// the probes' paths: all answer 200, and readiness alone turns 503 on
// Drain. The probes' port is the port of ISR_ADDR.
func checkProbes(t *testing.T, c corev1.Container, cfg config.Config) {
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Next: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Handler: h, Secret: "x"})
	_, addrPort, _ := net.SplitHostPort(cfg.Addr)
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
	answers := func() map[string]int {
		codes := map[string]int{}
		for name, p := range probes {
			if p == nil || p.HTTPGet == nil {
				t.Fatalf("%s probe: want an httpGet probe", name)
			}
			if got := containerPort(c, p.HTTPGet.Port.String()); strconv.Itoa(int(got)) != addrPort {
				t.Errorf("%s probe: port %s is container port %d, ISR_ADDR listens on %s", name, p.HTTPGet.Port.String(), got, addrPort)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.HTTPGet.Path, nil))
			codes[name] = rec.Code
		}
		return codes
	}
	if got := answers(); got["startup"] != 200 || got["liveness"] != 200 || got["readiness"] != 200 {
		t.Errorf("probe answers %v, want 200 each", got)
	}
	srv.Drain()
	if got := answers(); got["startup"] != 200 || got["liveness"] != 200 || got["readiness"] != 503 {
		t.Errorf("probe answers while draining %v, want readiness 503 and the others 200", got)
	}
	if c.ReadinessProbe != nil && cfg.DrainDelay > 0 {
		notice := c.ReadinessProbe.PeriodSeconds * c.ReadinessProbe.FailureThreshold
		if float64(notice) >= cfg.DrainDelay.Seconds() {
			t.Errorf("readiness notices the drain after up to %ds, ISR_DRAIN_DELAY is %v", notice, cfg.DrainDelay)
		}
	}
}

// TestProductionSecretDocumented checks that the command of docs/kubernetes.md that
// creates the production Secret sets the keys productionSecret stands in
// for.
func TestProductionSecretDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range productionSecret {
		if !strings.Contains(string(readme), "--from-file="+key+"=") {
			t.Errorf("docs/kubernetes.md: no kubectl create secret ... --from-file=%s=", key)
		}
	}
}
