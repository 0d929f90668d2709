package httpapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/vigilwiki/vigil"
)

// The parts of docs/openapi.yaml that TestOpenAPI checks.
type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `yaml:"parameters"`
		Schemas    struct {
			Error struct {
				Properties struct {
					Error struct {
						Properties struct {
							Code struct {
								Enum []string `yaml:"enum"`
							} `yaml:"code"`
						} `yaml:"properties"`
					} `yaml:"error"`
				} `yaml:"properties"`
			} `yaml:"Error"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

type openAPIParam struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

type openAPIOperation struct {
	// Security is nil when the operation does not say (the document's
	// default applies), and empty when it says "no token".
	Security       *[]map[string][]string `yaml:"security"`
	RequiredScopes []string               `yaml:"x-required-scopes"`
	Parameters     []openAPIParam         `yaml:"parameters"`
	RequestBody    any                    `yaml:"requestBody"`
	Responses      map[string]any         `yaml:"responses"`
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// serverRoute is a route as server.go registers it.
type serverRoute struct {
	scopes []string // nil: no token needed
}

var (
	routeLine  = regexp.MustCompile(`mux\.Handle\("([A-Z]+) (/[^"]*)",\s*([\w.]+)\(`)
	scopedLine = regexp.MustCompile(`(\w+)\s*:=\s*scoped\(([^)]*)\)`)
	pathParam  = regexp.MustCompile(`\{([^}]+)\}`)
)

// serverRoutes reads the routes of server.go: "METHOD /path" and the
// scopes its wrapper demands.
func serverRoutes(t *testing.T) map[string]serverRoute {
	t.Helper()
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	scopeNames := map[string]string{"vigil.ScopeScreen": vigil.ScopeScreen, "vigil.ScopeReadLog": vigil.ScopeReadLog,
		"vigil.ScopeManageFilters": vigil.ScopeManageFilters, "vigil.ScopeReadProtected": vigil.ScopeReadProtected,
		"vigil.ScopeManageBlocks": vigil.ScopeManageBlocks}
	wrappers := map[string][]string{}
	for _, m := range scopedLine.FindAllStringSubmatch(string(src), -1) {
		var scopes []string
		for _, name := range strings.Split(m[2], ",") {
			name = strings.TrimSpace(name)
			s, ok := scopeNames[name]
			if !ok {
				t.Fatalf("server.go: scoped(%s): unknown scope %q; add it to this test", m[2], name)
			}
			scopes = append(scopes, s)
		}
		sort.Strings(scopes)
		wrappers[m[1]] = scopes
	}
	routes := map[string]serverRoute{}
	for _, m := range routeLine.FindAllStringSubmatch(string(src), -1) {
		routes[m[1]+" "+m[2]] = serverRoute{scopes: wrappers[m[3]]}
	}
	if len(routes) < 10 || len(wrappers) < 3 {
		t.Fatalf("server.go: found %d routes and %d scope wrappers; has the way routes are registered changed?", len(routes), len(wrappers))
	}
	return routes
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	data, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("docs/openapi.yaml: openapi %q, want 3.1.x", doc.OpenAPI)
	}
	return &doc
}

// TestOpenAPI checks docs/openapi.yaml against the server: the same routes
// with the same methods both ways, the same scopes, the path parameters
// declared, the error codes, and the statuses every authenticated or
// body-reading route can answer.
func TestOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := serverRoutes(t)

	// The real mux, to check that each documented operation reaches the
	// route of the same pattern (not a neighbour's, nor none).
	mux := http.NewServeMux()
	addRoutes(mux, Deps{}, newMetrics(prometheus.NewRegistry()))

	documented := map[string]bool{}
	for path, item := range doc.Paths {
		var shared []openAPIParam
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for key, node := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			route := strings.ToUpper(key) + " " + path
			documented[route] = true
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s: %v", route, err)
			}
			sr, ok := routes[route]
			if !ok {
				t.Errorf("%s is in docs/openapi.yaml but server.go does not register it", route)
				continue
			}

			concrete := pathParam.ReplaceAllString(path, "1")
			_, pattern := mux.Handler(httptest.NewRequest(strings.ToUpper(key), concrete, nil))
			if pattern != route {
				t.Errorf("%s: %s %s reaches the route %q", route, strings.ToUpper(key), concrete, pattern)
			}

			// Scopes: each security requirement is one alternative.
			switch {
			case sr.scopes == nil && (op.Security == nil || len(*op.Security) != 0):
				t.Errorf("%s needs no token: give it security: []", route)
			case sr.scopes != nil && op.Security == nil:
				t.Errorf("%s: give its scopes under security (%v)", route, sr.scopes)
			case sr.scopes != nil:
				var got []string
				for _, req := range *op.Security {
					for scheme, scopes := range req {
						if scheme != "bearerAuth" || len(scopes) != 1 {
							t.Errorf("%s: security requirement %v; want one bearerAuth scope per alternative", route, req)
						}
						got = append(got, scopes...)
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, sr.scopes) {
					t.Errorf("%s: documented scopes %v; server.go demands one of %v", route, got, sr.scopes)
				}
				req := slices.Sorted(slices.Values(op.RequiredScopes))
				if !slices.Equal(req, sr.scopes) {
					t.Errorf("%s: x-required-scopes %v; server.go demands one of %v", route, req, sr.scopes)
				}
			}

			// Path parameters are declared, on the path or the operation.
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
					p = doc.Components.Parameters[name]
				}
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter %q is not declared", route, m[1])
				}
			}

			// Statuses every route of its kind can answer.
			var want []string
			if sr.scopes != nil {
				want = append(want, "401", "403", "500", "503") // the token lookup reads the database
			}
			if op.RequestBody != nil {
				want = append(want, "400", "413")
			}
			for _, status := range want {
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s: response %s is not documented", route, status)
				}
			}
		}
	}
	for route := range routes {
		if !documented[route] {
			t.Errorf("%s is registered in server.go but missing from docs/openapi.yaml", route)
		}
	}

	// The error codes are those writeError maps to a status.
	var codes []string
	for code := range statusOf {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	got := slices.Sorted(slices.Values(doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum))
	if !slices.Equal(got, codes) {
		t.Errorf("Error.error.code enum %v; writeError knows %v", got, codes)
	}
}
