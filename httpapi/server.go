// Package httpapi is Vigil's HTTP API: screening, filters, the abuse log,
// statistics and metrics. docs/openapi.yaml describes it.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
)

// Deps are what the server needs.
type Deps struct {
	Store    vigil.Store
	Engine   *screen.Engine
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics go here and are served on /metrics
	Now      func() time.Time
}

// NewServer returns the API's handler.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	m := newMetrics(d.Registry)
	if d.Engine != nil {
		d.Registry.MustRegister(filterCollector{d.Engine}, purgeCollector{d.Engine})
	}
	mux := http.NewServeMux()
	addRoutes(mux, d, m)
	return recoverPanics(d.Logger, m.instrument(mux))
}

func addRoutes(mux *http.ServeMux, d Deps, m *metrics) {
	tokens := &tokenCache{store: d.Store, m: map[string]cachedToken{}}
	scoped := func(scopes ...string) func(http.Handler) http.Handler {
		return requireScope(tokens, d.Logger, scopes...)
	}
	screenScope := scoped(vigil.ScopeScreen)
	manage := scoped(vigil.ScopeManageFilters)
	read := scoped(vigil.ScopeManageFilters, vigil.ScopeReadLog)
	readLog := scoped(vigil.ScopeReadLog, vigil.ScopeReadProtected)
	protected := scoped(vigil.ScopeReadProtected)
	blocks := scoped(vigil.ScopeManageBlocks)

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.Handle("POST /v1/screen", screenScope(handleScreen(d, m)))

	mux.Handle("GET /v1/filters", read(handleListFilters(d)))
	mux.Handle("POST /v1/filters", manage(handleCreateFilter(d)))
	mux.Handle("POST /v1/filters/test", manage(handleTestFilter(d)))
	mux.Handle("GET /v1/filters/{id}", read(handleGetFilter(d)))
	mux.Handle("PUT /v1/filters/{id}", manage(handleUpdateFilter(d)))
	mux.Handle("DELETE /v1/filters/{id}", manage(handleSetFilterState(d, "delete")))
	mux.Handle("POST /v1/filters/{id}/enable", manage(handleSetFilterState(d, "enable")))
	mux.Handle("POST /v1/filters/{id}/disable", manage(handleSetFilterState(d, "disable")))
	mux.Handle("GET /v1/filters/{id}/versions", read(handleFilterVersions(d)))
	mux.Handle("GET /v1/filters/{id}/versions/{version}", read(handleFilterVersion(d)))
	mux.Handle("GET /v1/filters/{id}/diff", read(handleFilterDiff(d)))
	mux.Handle("POST /v1/filters/{id}/restore", manage(handleRestoreFilter(d)))
	mux.Handle("GET /v1/filters/{id}/stats", read(handleFilterStats(d)))

	mux.Handle("GET /v1/blocks", protected(handleListBlocks(d)))
	mux.Handle("POST /v1/blocks/unblock", blocks(handleUnblock(d)))

	mux.Handle("GET /v1/log", readLog(handleQueryLog(d)))
	mux.Handle("GET /v1/audit", protected(handleAudit(d)))
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// recoverPanics turns a panic in a handler into a logged internal error.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				writeError(w, r, log, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// metrics are the server's Prometheus metrics.
type metrics struct {
	requests *prometheus.HistogramVec
	screened *prometheus.CounterVec
	matches  *prometheus.CounterVec
	screen   *prometheus.HistogramVec
	phase    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
		screened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_screen_actions_total", Help: "Actions screened, by wiki, action and outcome.",
		}, []string{"wiki", "action", "outcome"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_filter_matches_total", Help: "Filter matches by wiki and filter.",
		}, []string{"wiki", "filter"}),
		screen: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_screen_duration_seconds", Help: "Time to screen one action, filters and consequences.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1},
		}, []string{"wiki"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_screen_phase_seconds",
			Help:    "Time of one part of screening an action: phase=\"filters\" (running them), phase=\"log\" (writing the abuse log durably, for actions that log).",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1},
		}, []string{"wiki", "phase"}),
	}
	reg.MustRegister(m.requests, m.screened, m.matches, m.screen, m.phase)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	w.status = s
	w.ResponseWriter.WriteHeader(s)
}

func (m *metrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(sw, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is the method as the request metric's label: any token is a
// method to HTTP, and each one a client makes up would be a series of its
// own, kept for good.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// purgeCollector exports what the purges of expired protected data did.
type purgeCollector struct{ e *screen.Engine }

var (
	purgedDesc = prometheus.NewDesc("vigil_protected_purged_total",
		"Abuse-log entries whose protected data (IP address, user agent, protected variables) this process purged.", nil, nil)
	purgeLastDesc = prometheus.NewDesc("vigil_protected_purge_last_success_timestamp_seconds",
		"When this process last finished a purge of expired protected data (0: not yet).", nil, nil)
)

func (purgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- purgedDesc; ch <- purgeLastDesc }

func (c purgeCollector) Collect(ch chan<- prometheus.Metric) {
	n, last, enabled := c.e.PurgeStatus()
	if !enabled {
		return // protected data kept for ever: nothing to watch
	}
	var at float64
	if !last.IsZero() {
		at = float64(last.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(purgedDesc, prometheus.CounterValue, float64(n))
	ch <- prometheus.MustNewConstMetric(purgeLastDesc, prometheus.GaugeValue, at)
}

// filterCollector exports the engine's per-filter statistics at each
// scrape, labelled by filter id.
type filterCollector struct{ e *screen.Engine }

var (
	filterCheckedDesc = prometheus.NewDesc("vigil_filter_checked_total",
		"Actions a filter was run on (since the store began).", []string{"filter"}, nil)
	filterConditionsDesc = prometheus.NewDesc("vigil_filter_conditions_total",
		"Conditions a filter used, as AbuseFilter counts them.", []string{"filter"}, nil)
	filterOverflowsDesc = prometheus.NewDesc("vigil_filter_condition_limit_overflows_total",
		"Actions where the condition limit was reached while a filter ran.", []string{"filter"}, nil)
	filterErrorsDesc = prometheus.NewDesc("vigil_filter_errors_total",
		"Runtime errors of a filter (regex failures, budget).", []string{"filter"}, nil)
	filterTimedDesc = prometheus.NewDesc("vigil_filter_timed_total",
		"Actions on which this process timed a filter (one in screen.profile_every).", []string{"filter"}, nil)
	filterSecondsDesc = prometheus.NewDesc("vigil_filter_timed_seconds_total",
		"Runtime of a filter over its timed actions.", []string{"filter"}, nil)
)

func (filterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{filterCheckedDesc, filterConditionsDesc, filterOverflowsDesc, filterErrorsDesc,
		filterTimedDesc, filterSecondsDesc} {
		ch <- d
	}
}

func (c filterCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.e.AllFilterStats() {
		id := strconv.FormatInt(f.FilterID, 10)
		ch <- prometheus.MustNewConstMetric(filterCheckedDesc, prometheus.CounterValue, float64(f.Checked), id)
		ch <- prometheus.MustNewConstMetric(filterConditionsDesc, prometheus.CounterValue, float64(f.Conditions), id)
		ch <- prometheus.MustNewConstMetric(filterOverflowsDesc, prometheus.CounterValue, float64(f.Overflows), id)
		ch <- prometheus.MustNewConstMetric(filterErrorsDesc, prometheus.CounterValue, float64(f.Errors), id)
		ch <- prometheus.MustNewConstMetric(filterTimedDesc, prometheus.CounterValue, float64(f.Timed), id)
		ch <- prometheus.MustNewConstMetric(filterSecondsDesc, prometheus.CounterValue, float64(f.TimedNS)/1e9, id)
	}
}
