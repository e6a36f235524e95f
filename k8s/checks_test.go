package k8s_test

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/isrcache/isrcache/internal/config"
)

// shutdownMargin is the least time left, after the drain delay and the
// shutdown timeout, before the kubelet's SIGKILL.
const shutdownMargin = 5 * time.Second

// checkShutdown checks the rollout strategy and that the grace period
// covers isrcache's own drain and graceful shutdown.
func checkShutdown(t *testing.T, dep *appsv1.Deployment, cfg config.Config) {
	grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds
	need := cfg.DrainDelay + cfg.ShutdownTimeout + shutdownMargin
	if grace == nil || time.Duration(*grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds %s, want at least %v (drain %v + shutdown %v + margin)",
			jsonString(grace), need, cfg.DrainDelay, cfg.ShutdownTimeout)
	}
	ru := dep.Spec.Strategy.RollingUpdate
	if dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" || ru.MaxSurge == nil || ru.MaxSurge.String() != "1" {
		t.Errorf("strategy %s, want RollingUpdate maxUnavailable 0, maxSurge 1", jsonString(dep.Spec.Strategy))
	}
	keys := map[string]bool{}
	for _, c := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		if selects(t, c.LabelSelector, dep.Spec.Template) {
			keys[c.TopologyKey] = true
		}
	}
	if !keys["topology.kubernetes.io/zone"] || !keys["kubernetes.io/hostname"] {
		t.Errorf("topologySpreadConstraints over %v, want zone and hostname, selecting the pods", keys)
	}
}

// checkMemory checks requests and limits, that GOMEMLIMIT is 80-96% of the
// memory limit, and that the hot cache is well below GOMEMLIMIT.
func checkMemory(t *testing.T, c corev1.Container, env map[string]string, cfg config.Config) {
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		t.Fatal("no memory limit")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no CPU request: the HPA's utilization is relative to it")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		t.Error("no memory request")
	}
	gomem, err := strconv.ParseInt(env["GOMEMLIMIT"], 10, 64)
	if err != nil {
		t.Fatalf("GOMEMLIMIT %q: want a number of bytes: %v", env["GOMEMLIMIT"], err)
	}
	ratio := float64(gomem) / float64(limit.Value())
	if ratio < 0.80 || ratio > 0.96 {
		t.Errorf("GOMEMLIMIT %d is %.1f%% of the memory limit %s, want 80-96%%", gomem, 100*ratio, limit.String())
	}
	if cfg.L1Bytes < 0 || cfg.L1Bytes > gomem/3 {
		t.Errorf("ISR_L1_BYTES %d, want at most a third of GOMEMLIMIT %d", cfg.L1Bytes, gomem)
	}
}

// checkScaling checks the HPA and the PDB of the Deployment.
func checkScaling(t *testing.T, b bundle, dep *appsv1.Deployment) {
	hpas := all[autoscalingv2.HorizontalPodAutoscaler](b, "HorizontalPodAutoscaler")
	if len(hpas) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(hpas))
	}
	h := hpas[0].Spec
	if h.ScaleTargetRef.APIVersion != "apps/v1" || h.ScaleTargetRef.Kind != "Deployment" || h.ScaleTargetRef.Name != dep.Name {
		t.Errorf("HPA scales %s, want Deployment %s", jsonString(h.ScaleTargetRef), dep.Name)
	}
	floor := int32(3)
	if r := dep.Spec.Replicas; r != nil && *r > floor {
		floor = *r
	}
	if h.MinReplicas == nil || *h.MinReplicas < floor || h.MaxReplicas < *h.MinReplicas {
		t.Errorf("HPA replicas %s..%d, want at least %d", jsonString(h.MinReplicas), h.MaxReplicas, floor)
	}
	cpu := slices.ContainsFunc(h.Metrics, func(m autoscalingv2.MetricSpec) bool {
		return m.Resource != nil && m.Resource.Name == corev1.ResourceCPU
	})
	if !cpu {
		t.Error("HPA: no CPU metric")
	}
	if h.Behavior == nil || h.Behavior.ScaleDown == nil || h.Behavior.ScaleDown.StabilizationWindowSeconds == nil ||
		*h.Behavior.ScaleDown.StabilizationWindowSeconds <= 0 {
		t.Error("HPA: want a scale-down stabilization window")
	}
	pdbs := all[policyv1.PodDisruptionBudget](b, "PodDisruptionBudget")
	ok := slices.ContainsFunc(pdbs, func(p *policyv1.PodDisruptionBudget) bool {
		return selects(t, p.Spec.Selector, dep.Spec.Template) && p.Spec.MaxUnavailable != nil &&
			p.Spec.MaxUnavailable.String() == "1" && p.Spec.UnhealthyPodEvictionPolicy != nil &&
			*p.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow
	})
	if !ok {
		t.Error("no PodDisruptionBudget of the pods with maxUnavailable 1 and unhealthyPodEvictionPolicy AlwaysAllow")
	}
}

// checkNetwork checks the policies of isrcache's pods: ingress only to the
// ports of ISR_ADDR and ISR_METRICS_ADDR (checkMetrics checks who may
// reach the latter), and egress to DNS, to the Redis and origin ports of
// the configuration, and nothing else.
func checkNetwork(t *testing.T, b bundle, cfg config.Config) {
	_, appPort, _ := strings.Cut(cfg.Addr, ":")
	_, metricsPort, _ := strings.Cut(cfg.MetricsAddr, ":")
	var in, out []string
	for _, np := range all[networkingv1.NetworkPolicy](b, "NetworkPolicy") {
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != app {
			continue
		}
		for _, r := range np.Spec.Ingress {
			in = append(in, policyPorts(t, np.Name, r.Ports)...)
		}
		for _, r := range np.Spec.Egress {
			out = append(out, policyPorts(t, np.Name, r.Ports)...)
			for _, peer := range r.To {
				if peer.IPBlock != nil && peer.IPBlock.CIDR == "0.0.0.0/0" {
					t.Errorf("NetworkPolicy %s: egress to 0.0.0.0/0", np.Name)
				}
			}
		}
	}
	if !slices.Contains(in, "TCP/"+appPort) || slices.ContainsFunc(in, func(p string) bool {
		return p != "TCP/"+appPort && (metricsPort == "" || p != "TCP/"+metricsPort)
	}) {
		t.Errorf("ingress ports %v, want TCP/%s and, for ISR_METRICS_ADDR, TCP/%s only", in, appPort, metricsPort)
	}
	want := []string{"UDP/53", "TCP/53", "TCP/" + urlPort(cfg.Origin), "TCP/" + urlPort(mustParse(t, cfg.RedisURL))}
	for _, w := range want {
		if !slices.Contains(out, w) {
			t.Errorf("egress ports %v: no %s", out, w)
		}
	}
	for _, o := range out {
		if !slices.Contains(want, o) {
			t.Errorf("egress port %s: not DNS, Redis or the origin", o)
		}
	}
}

// policyPorts returns "PROTO/port" for each port; every rule names ports.
func policyPorts(t *testing.T, policy string, ports []networkingv1.NetworkPolicyPort) []string {
	if len(ports) == 0 {
		t.Errorf("NetworkPolicy %s: a rule without ports allows them all", policy)
	}
	var out []string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		out = append(out, string(proto)+"/"+p.Port.String())
	}
	return out
}

// urlPort is u's port, or the default one of its scheme.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return map[string]string{"http": "80", "https": "443", "redis": "6379", "rediss": "6379"}[u.Scheme]
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal("unparsable URL") // the URL may hold a password
	}
	return u
}

// checkDevRedis checks a Redis StatefulSet of the bundle, if any: an LRU
// cache bounded by maxmemory, whose password is the one in ISR_REDIS_URL.
func checkDevRedis(t *testing.T, b bundle, cfg config.Config) {
	for _, s := range all[appsv1.StatefulSet](b, "StatefulSet") {
		c := s.Spec.Template.Spec.Containers[0]
		args := strings.Join(c.Args, " ")
		if !strings.Contains(args, "--maxmemory ") || !strings.Contains(args, "--maxmemory-policy allkeys-lru") {
			t.Errorf("StatefulSet %s: args %q, want --maxmemory and --maxmemory-policy allkeys-lru", s.Name, args)
		}
		p := isrcachePod(t, b, &appsv1.Deployment{})
		p.spec, p.container = s.Spec.Template.Spec, c
		env, err := p.env()
		if err != nil {
			t.Fatalf("StatefulSet %s: %v", s.Name, err)
		}
		pw, _ := mustParse(t, cfg.RedisURL).User.Password()
		if env["REDIS_PASSWORD"] == "" || env["REDIS_PASSWORD"] != pw {
			t.Errorf("StatefulSet %s: REDIS_PASSWORD is not the password of ISR_REDIS_URL", s.Name)
		}
	}
}
