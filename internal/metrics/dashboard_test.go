package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/isrcache/isrcache/pkg/isr"
)

// dashboardFile is the Grafana dashboard shipped with the repository.
const dashboardFile = "../../deploy/grafana/isrcache.json"

// exerciseAll returns a registry on which every metric of the package has
// at least one series.
func exerciseAll(t *testing.T) *prometheus.Registry {
	t.Helper()
	m, reg := newTestMetrics(t)
	if err := m.WatchCache(func() isr.Stats { return isr.Stats{} }); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchPubSub(func() PubSubStats { return PubSubStats{} }); err != nil {
		t.Fatal(err)
	}
	m.Served(httptest.NewRequest("POST", "/", nil), "BYPASS", "isrcache; fwd=bypass; detail=method", 200, time.Millisecond)
	o := m.Origin(isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200}, nil
	}))
	if _, err := o.Render(t.Context(), httptest.NewRequest("GET", "/", nil)); err != nil {
		t.Fatal(err)
	}
	m.Regeneration(isr.RegenWritten, time.Millisecond)
	m.LockWait(time.Millisecond)
	m.Confirmed(isr.ConfirmComplete, time.Millisecond)
	m.EventApplied(time.Millisecond)
	m.RevalidateRequest(200)
	m.Revalidated([]isr.PageResult{{Result: isr.ResultRegenerated}})
	process := m.RedisHook().ProcessHook(func(context.Context, redis.Cmder) error { return nil })
	if err := process(t.Context(), redis.NewCmd(t.Context(), "get", "k")); err != nil {
		t.Fatal(err)
	}
	return reg
}

// registered returns the names a Prometheus query can use for the
// registry's metrics: each family's name, and for histograms the _bucket,
// _sum and _count series.
func registered(t *testing.T, reg prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

func TestEveryMetricHasSeriesAndPassesLint(t *testing.T) {
	reg := exerciseAll(t)
	names := registered(t, reg)
	for _, want := range []string{
		"isr_requests_total", "isr_request_duration_seconds", "isr_bypass_total",
		"isr_origin_requests_total", "isr_origin_duration_seconds",
		"isr_regenerations_total", "isr_regeneration_duration_seconds", "isr_lock_wait_seconds",
		"isr_revalidations_total", "isr_revalidate_requests_total",
		"isr_l1_entries", "isr_l1_bytes", "isr_l1_flushes_total",
		"isr_pubsub_messages_total", "isr_pubsub_malformed_total", "isr_pubsub_resets_total", "isr_pubsub_probe_failures_total",
		"isr_redis_commands_total", "isr_redis_errors_total", "isr_redis_duration_seconds",
		"isr_breaker_state", "isr_breaker_transitions_total",
		"isr_revalidate_wait_total", "isr_revalidate_wait_seconds", "isr_event_apply_seconds",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !names[want] {
			t.Errorf("%s: not in the registry", want)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "isr_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Inputs []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	UID           string
	Title         string
	SchemaVersion int
	Panels        []panel
	Templating    struct {
		List []struct {
			Name       string
			Definition string
			Datasource struct{ UID string }
		}
	}
}

type panel struct {
	ID         int
	Type       string
	Title      string
	Datasource struct{ Type, UID string }
	Targets    []struct {
		Expr       string
		RefID      string `json:"refId"`
		Datasource struct{ UID string }
	}
	Panels []panel // a collapsed row's panels
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboardImportable(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want all set (schemaVersion >= 30)", d.UID, d.Title, d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want one DS_PROMETHEUS prometheus datasource", d.Inputs)
	}
	ids := map[int]bool{}
	graphs := 0
	for _, p := range allPanels(d.Panels) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		graphs++
		if p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %q, %d targets; want ${DS_PROMETHEUS} and a query", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: target %+v lacks an expression, refId or datasource", p.Title, tg)
			}
		}
	}
	if graphs < 20 {
		t.Errorf("%d graph panels, want at least 20", graphs)
	}
}

// TestDashboardMetricsExist checks that every metric a panel or variable
// queries is one the package registers, and that every isr_ metric is
// shown somewhere.
func TestDashboardMetricsExist(t *testing.T) {
	names := registered(t, exerciseAll(t))
	d := readDashboard(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		ms := metricNames(expr)
		if len(ms) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range ms {
			used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")] = true
			used[n] = true
			if !names[n] {
				t.Errorf("%s: %q queries %s, which the metrics package does not register", where, expr, n)
			}
		}
	}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		m := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,`).FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: definition %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		check("variable "+v.Name, m[1])
	}
	for n := range names {
		if strings.HasPrefix(n, "isr_") && !used[n] && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") && !strings.HasSuffix(n, "_count") {
			t.Errorf("%s: on no dashboard panel", n)
		}
	}
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promBraces    = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords  = map[string]bool{"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true}
	promFunctions = map[string]bool{
		"sum": true, "avg": true, "min": true, "max": true, "count": true, "topk": true, "bottomk": true,
		"rate": true, "irate": true, "increase": true, "delta": true, "histogram_quantile": true,
		"clamp_min": true, "clamp_max": true, "abs": true, "vector": true, "scalar": true,
	}
)

// metricNames returns the metric names a PromQL expression selects. It
// knows the functions the dashboard uses: an unknown function fails the
// test, through the check of its name as a metric.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promBraces.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		if loc[0] > 0 && strings.ContainsRune("0123456789.$", rune(e[loc[0]-1])) {
			continue // part of a number (1e-9) or a variable
		}
		name := e[loc[0]:loc[1]]
		call := strings.HasPrefix(strings.TrimSpace(e[loc[1]:]), "(")
		switch {
		case promKeywords[strings.ToLower(name)]:
		case call && promFunctions[name]:
		default:
			out = append(out, name)
		}
	}
	return out
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.95, sum by (le, cache) (rate(isr_request_duration_seconds_bucket{job=~"$job",x="a{b}"}[$__rate_interval]))) / on (job) clamp_min(go_goroutines offset 5m, 1e-9) > bool 2`)
	if strings.Join(got, ",") != "isr_request_duration_seconds_bucket,go_goroutines" {
		t.Errorf("metricNames: got %q", got)
	}
	if got := metricNames(`label_replace(up, "a", "b", "c", "d")`); strings.Join(got, ",") != "label_replace,up" {
		t.Errorf("an unknown function must show up as a name: got %q", got)
	}
}

// TestReadmeAlerts checks that the alerting rules docs/metrics.md suggests
// parse, and query only metrics the package registers.
func TestReadmeAlerts(t *testing.T) {
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Suggested alerts")
	_, block, ok2 := strings.Cut(after, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/metrics.md: no yaml block under ## Suggested alerts")
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal([]byte(block), &rules); err != nil {
		t.Fatalf("docs/metrics.md alerts: %v", err)
	}
	names := registered(t, exerciseAll(t))
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			ms := metricNames(r.Expr)
			if r.Alert == "" || len(ms) == 0 {
				t.Errorf("rule %+v: no alert name or no metric", r)
			}
			for _, m := range ms {
				if !names[m] {
					t.Errorf("alert %s queries %s, which the metrics package does not register", r.Alert, m)
				}
			}
		}
	}
	if n < 6 {
		t.Errorf("%d alerts in docs/metrics.md, want at least 6", n)
	}
}
