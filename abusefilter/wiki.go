package abusefilter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
)

// WikiConfig says how to read a wiki's filters.
type WikiConfig struct {
	// API is the wiki's api.php.
	API string
	// User and Password log in first, with a bot password
	// (Special:BotPasswords, "Name@app"): hidden filters need an account
	// with abusefilter-view-private. Empty: anonymous.
	User, Password string
	UserAgent      string
	HTTP           *http.Client // default: 30 s timeout
}

// WikiFilter is one filter read from a wiki.
type WikiFilter struct {
	ID     int64
	Filter *vigil.Filter // nil when it could not be read
	// Problem says what could not be read: a hidden rule without the
	// right, actions whose parameters the wiki did not show.
	Problem string
}

// ReadWikiFilters lists a wiki's filters (list=abusefilters) and reads each
// one's actions with their parameters from AbuseFilter's export on the
// filter's page (Special:AbuseFilter/ID), which the API does not give.
// The filters are for the wiki's own id (meta=siteinfo's wikiid).
func ReadWikiFilters(ctx context.Context, cfg WikiConfig) (wiki string, out []WikiFilter, err error) {
	w, err := newWikiClient(cfg)
	if err != nil {
		return "", nil, err
	}
	if cfg.User != "" {
		if err := w.login(ctx, cfg.User, cfg.Password); err != nil {
			return "", nil, err
		}
	}
	var si struct {
		Query struct {
			General struct {
				WikiID     string `json:"wikiid"`
				Server     string `json:"server"`
				ScriptPath string `json:"scriptpath"`
			} `json:"general"`
		} `json:"query"`
	}
	if err := w.get(ctx, url.Values{"action": {"query"}, "meta": {"siteinfo"}}, &si); err != nil {
		return "", nil, fmt.Errorf("siteinfo: %w", err)
	}
	g := si.Query.General
	wiki = g.WikiID
	index := g.Server + g.ScriptPath + "/index.php"
	if strings.HasPrefix(index, "//") { // protocol-relative $wgServer
		u, _ := url.Parse(cfg.API)
		index = u.Scheme + ":" + index
	}

	q := url.Values{"action": {"query"}, "list": {"abusefilters"}, "abflimit": {"max"},
		"abfprop": {"id|description|pattern|actions|status|private|comments"}}
	for {
		var page struct {
			Query struct {
				Filters []struct {
					ID          int64   `json:"id"`
					Description string  `json:"description"`
					Pattern     string  `json:"pattern"`
					Actions     string  `json:"actions"`
					Comments    string  `json:"comments"`
					Enabled     apiFlag `json:"enabled"`
					Deleted     apiFlag `json:"deleted"`
					Private     apiFlag `json:"private"`
				} `json:"abusefilters"`
			} `json:"query"`
			Continue map[string]string `json:"continue"`
		}
		if err := w.get(ctx, q, &page); err != nil {
			return "", nil, fmt.Errorf("list=abusefilters: %w", err)
		}
		for _, r := range page.Query.Filters {
			wf := WikiFilter{ID: r.ID}
			if r.Pattern == "" {
				wf.Problem = "its rule is hidden: log in (--bot-user) as an account with abusefilter-view-private"
				out = append(out, wf)
				continue
			}
			export, err := w.export(ctx, index, r.ID)
			if err == nil {
				wf.Filter, err = FromExport(export, wiki)
			}
			if err != nil {
				// The filter's page did not show its export: take what
				// the API gives, the action names without parameters.
				row := Row{Wiki: wiki, ID: r.ID, Pattern: r.Pattern, Description: r.Description,
					Enabled: bool(r.Enabled), Deleted: bool(r.Deleted), Hidden: bool(r.Private), Actions: r.Actions}
				var notes []string
				wf.Filter, notes = FromRow(row)
				wf.Problem = fmt.Sprintf("its export could not be read (%v)", err)
				if len(notes) > 0 {
					wf.Problem += "; " + strings.Join(notes, "; ")
				}
			}
			out = append(out, wf)
		}
		if len(page.Continue) == 0 {
			return wiki, out, nil
		}
		for k, v := range page.Continue {
			q.Set(k, v)
		}
	}
}

// apiFlag is a flag of list=abusefilters: AbuseFilter sets the key (to ""
// even with formatversion=2) when it is true and leaves it out otherwise.
type apiFlag bool

func (f *apiFlag) UnmarshalJSON(b []byte) error {
	*f = string(b) != "false" && string(b) != "null"
	return nil
}

type wikiClient struct {
	api string
	ua  string
	hc  *http.Client
}

func newWikiClient(cfg WikiConfig) (*wikiClient, error) {
	if u, err := url.Parse(cfg.API); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not the http(s) URL of an api.php", cfg.API)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	jar, _ := cookiejar.New(nil)
	c := *hc
	c.Jar = jar
	ua := cfg.UserAgent
	if ua == "" {
		ua = "Vigil (https://github.com/vigilwiki/vigil)"
	}
	return &wikiClient{api: cfg.API, ua: ua, hc: &c}, nil
}

func (w *wikiClient) do(ctx context.Context, method string, q url.Values, out any) error {
	q.Set("format", "json")
	q.Set("formatversion", "2")
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, method, w.api, strings.NewReader(q.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, w.api+"?"+q.Encode(), nil)
	}
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", w.ua)
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var e struct {
		Error *struct{ Code, Info string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		return fmt.Errorf("%s: %s", e.Error.Code, e.Error.Info)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("not the API's JSON: %w", err)
	}
	return nil
}

func (w *wikiClient) get(ctx context.Context, q url.Values, out any) error {
	return w.do(ctx, http.MethodGet, q, out)
}

// login logs in with action=login, as bot passwords require.
func (w *wikiClient) login(ctx context.Context, user, password string) error {
	var tok struct {
		Query struct {
			Tokens struct {
				Login string `json:"logintoken"`
			} `json:"tokens"`
		} `json:"query"`
	}
	if err := w.get(ctx, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}}, &tok); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var res struct {
		Login struct {
			Result string `json:"result"`
			Reason string `json:"reason"`
		} `json:"login"`
	}
	if err := w.do(ctx, http.MethodPost, url.Values{"action": {"login"}, "lgname": {user}, "lgpassword": {password},
		"lgtoken": {tok.Query.Tokens.Login}}, &res); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if res.Login.Result != "Success" {
		return fmt.Errorf("login as %s: %s %s", user, res.Login.Result, res.Login.Reason)
	}
	return nil
}

// exportArea finds the export widget's text area on a filter's page.
var exportArea = regexp.MustCompile(`(?s)id=['"]mw-abusefilter-export['"].*?<textarea[^>]*>(.*?)</textarea>`)

// export reads a filter's export JSON from its page.
func (w *wikiClient) export(ctx context.Context, index string, id int64) ([]byte, error) {
	u := index + "?" + url.Values{"title": {"Special:AbuseFilter/" + strconv.FormatInt(id, 10)}, "uselang": {"en"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", w.ua)
	resp, err := w.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Special:AbuseFilter/%d: HTTP %d", id, resp.StatusCode)
	}
	m := exportArea.FindSubmatch(page)
	if m == nil {
		return nil, errors.New("the page shows no export")
	}
	return []byte(html.UnescapeString(string(m[1]))), nil
}
