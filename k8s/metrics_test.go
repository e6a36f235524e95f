package k8s_test

import (
	"net"
	"slices"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isrcache/isrcache/internal/config"
)

// metricsPath is where isrcache serves its metrics on ISR_METRICS_ADDR
// (cmd/isrcache, tested there).
const metricsPath = "/metrics"

// checkMetrics checks that /metrics is private: isrcache serves it on a
// port of its own (ISR_METRICS_ADDR), the container port "metrics", which
// the pod's annotations tell Prometheus to scrape, no Service port targets
// (so no Ingress reaches it), and the NetworkPolicies open only to
// namespaces other than those let in on the http port.
func checkMetrics(t *testing.T, b bundle, dep *appsv1.Deployment, c corev1.Container, cfg config.Config) {
	if cfg.MetricsAddr == "" {
		t.Fatal("ISR_METRICS_ADDR is empty: /metrics would be served on the public port")
	}
	_, port, _ := net.SplitHostPort(cfg.MetricsAddr)
	_, appPort, _ := net.SplitHostPort(cfg.Addr)
	if port == appPort {
		t.Fatalf("ISR_METRICS_ADDR %q and ISR_ADDR %q share a port", cfg.MetricsAddr, cfg.Addr)
	}
	if got := containerPort(c, "metrics"); strconv.Itoa(int(got)) != port {
		t.Errorf("container port metrics is %d, ISR_METRICS_ADDR listens on %s", got, port)
	}
	ann := dep.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != metricsPath {
		t.Errorf("pod annotations %v, want prometheus.io/scrape \"true\", port %q, path %q", ann, port, metricsPath)
	}
	for _, s := range all[corev1.Service](b, "Service") {
		if !selects(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, dep.Spec.Template) {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if strconv.Itoa(int(containerPort(c, sp.TargetPort.String()))) == port {
				t.Errorf("Service %s: port %d targets the metrics port %s", s.Name, sp.Port, port)
			}
		}
	}
	checkMetricsPolicy(t, b, "TCP/"+port, "TCP/"+appPort)
}

// checkMetricsPolicy checks the ingress rules of isrcache's pods that
// open the metrics port: there is one, each names only that port, and
// each lets in chosen namespaces (namespaceSelector with labels) that are
// none of the peers let in on the app port, such as the ingress controller.
func checkMetricsPolicy(t *testing.T, b bundle, metrics, appPort string) {
	var appPeers []string
	var rules []networkingv1.NetworkPolicyIngressRule
	for _, np := range all[networkingv1.NetworkPolicy](b, "NetworkPolicy") {
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != app {
			continue
		}
		for _, r := range np.Spec.Ingress {
			ports := policyPorts(t, np.Name, r.Ports)
			if slices.Contains(ports, appPort) {
				for _, peer := range r.From {
					appPeers = append(appPeers, jsonString(peer))
				}
			}
			if slices.Contains(ports, metrics) {
				if len(ports) != 1 {
					t.Errorf("NetworkPolicy %s: a rule opens the metrics port %s with %v", np.Name, metrics, ports)
				}
				rules = append(rules, r)
			}
		}
	}
	if len(rules) == 0 {
		t.Errorf("no NetworkPolicy opens the metrics port %s: Prometheus cannot scrape", metrics)
	}
	for _, r := range rules {
		if len(r.From) == 0 {
			t.Errorf("the metrics port %s is open to every source", metrics)
		}
		for _, peer := range r.From {
			ns := peer.NamespaceSelector
			if ns == nil || len(ns.MatchLabels)+len(ns.MatchExpressions) == 0 || peer.IPBlock != nil {
				t.Errorf("metrics port %s: peer %s, want a namespaceSelector with labels", metrics, jsonString(peer))
			}
			if slices.Contains(appPeers, jsonString(peer)) {
				t.Errorf("metrics port %s: peer %s is also let in on the app port %s", metrics, jsonString(peer), appPort)
			}
		}
	}
}
