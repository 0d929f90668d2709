package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// FetcherConfig configures a Fetcher.
type FetcherConfig struct {
	// APIURL is the wiki's api.php, e.g. Event.APIURL().
	APIURL string
	// Rate limits requests per second (a token bucket of Burst tokens);
	// default 5 per second, burst 5. Negative: no limit.
	Rate  float64
	Burst int
	// RevisionCache and UserCache are how many revisions and users to
	// keep (least recently used go first); defaults 1000 and 10000.
	// Negative: no cache.
	RevisionCache, UserCache int
	// UserTTL is how long user facts stay cached; default 5 min.
	UserTTL time.Duration
	// MaxLag is sent as maxlag (seconds); default 5, negative: not sent.
	MaxLag int
	// MaxRetries bounds the retries of one request after HTTP 429, 5xx,
	// maxlag or network errors; default 5, negative: none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the delay between retries; defaults
	// 1 s and 1 min.
	MinBackoff, MaxBackoff time.Duration
	UserAgent              string // default DefaultUserAgent
	Client                 *http.Client
	Logger                 *slog.Logger
}

// Batch sizes: the API takes at most 50 values a parameter from clients
// without apihighlimits.
const (
	revisionBatch = 50
	userBatch     = 50
	maxContinues  = 100
)

// Fetcher gets from one wiki's Action API what filters need and events
// lack: revision wikitext and user facts. It batches, caches, limits its
// rate and retries on 429 and maxlag. It is safe for concurrent use. The
// revisions and users it returns are shared with its cache: read them,
// do not modify them. One Fetcher serves one wiki.
type Fetcher struct {
	api   *apiClient
	revs  *lru[int64, *Revision]
	users *lru[string, *User]
}

// Revision is a revision's metadata and main slot.
type Revision struct {
	ID            int64     `json:"id"`
	ParentID      int64     `json:"parent_id"`
	PageID        int64     `json:"page_id"`
	Namespace     int       `json:"namespace"`
	PrefixedTitle string    `json:"prefixed_title"`
	User          string    `json:"user"`
	UserID        int64     `json:"user_id,omitempty"`
	Timestamp     time.Time `json:"timestamp"`
	Size          int       `json:"size"`
	SHA1          string    `json:"sha1,omitempty"` // hex
	ContentModel  string    `json:"content_model"`
	ContentFormat string    `json:"content_format"`
	Content       string    `json:"content"`
	// TextHidden: the content is deleted (revision deletion) and not
	// visible to the fetcher; Content is empty.
	TextHidden bool `json:"text_hidden,omitempty"`
}

// NewFetcher returns a Fetcher.
func NewFetcher(cfg FetcherConfig) (*Fetcher, error) {
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("fetcher: API URL %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	var limit *tokenBucket
	if cfg.Rate > 0 {
		limit = newTokenBucket(cfg.Rate, cfg.Burst)
	}
	if cfg.RevisionCache == 0 {
		cfg.RevisionCache = 1000
	}
	if cfg.UserCache == 0 {
		cfg.UserCache = 10000
	}
	if cfg.UserTTL <= 0 {
		cfg.UserTTL = 5 * time.Minute
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = defaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fetcher{
		api: newAPIClient(cfg.APIURL, cfg.UserAgent, cfg.Client, cfg.MaxLag, cfg.MaxRetries,
			cfg.MinBackoff, cfg.MaxBackoff, limit, log.With("api", cfg.APIURL)),
		revs:  newLRU[int64, *Revision](cfg.RevisionCache, 0),
		users: newLRU[string, *User](cfg.UserCache, cfg.UserTTL),
	}, nil
}

// Revisions returns the revisions with these ids, with their main slot's
// content (prop=revisions&revids=…&rvslots=main), asking for those not
// cached in batches of 50. An id the wiki does not have (deleted, or not
// yet on the replica that answered) is absent from the map and not cached:
// ask again later. Ids ≤ 0 are ignored.
func (f *Fetcher) Revisions(ctx context.Context, ids []int64) (map[int64]*Revision, error) {
	out := make(map[int64]*Revision, len(ids))
	var todo []int64
	for _, id := range ids {
		if id <= 0 || out[id] != nil || slices.Contains(todo, id) {
			continue
		}
		if r, ok := f.revs.get(id); ok {
			out[id] = r
		} else {
			todo = append(todo, id)
		}
	}
	for batch := range slices.Chunk(todo, revisionBatch) {
		if err := f.fetchRevisions(ctx, batch, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Revision returns one revision; ok is false when the wiki has no such
// revision.
func (f *Fetcher) Revision(ctx context.Context, id int64) (r *Revision, ok bool, err error) {
	m, err := f.Revisions(ctx, []int64{id})
	if err != nil {
		return nil, false, err
	}
	r, ok = m[id]
	return r, ok, nil
}

type revisionsResponse struct {
	Continue map[string]string `json:"continue"`
	Query    struct {
		Pages []struct {
			PageID    int64  `json:"pageid"`
			NS        int    `json:"ns"`
			Title     string `json:"title"`
			Revisions []struct {
				RevID     int64  `json:"revid"`
				ParentID  int64  `json:"parentid"`
				User      string `json:"user"`
				UserID    int64  `json:"userid"`
				Timestamp string `json:"timestamp"`
				Size      int    `json:"size"`
				SHA1      string `json:"sha1"`
				Slots     map[string]struct {
					ContentModel  string `json:"contentmodel"`
					ContentFormat string `json:"contentformat"`
					Content       string `json:"content"`
					TextHidden    bool   `json:"texthidden"`
					TextMissing   bool   `json:"textmissing"`
					Missing       bool   `json:"missing"`
				} `json:"slots"`
			} `json:"revisions"`
		} `json:"pages"`
	} `json:"query"`
}

func (f *Fetcher) fetchRevisions(ctx context.Context, ids []int64, out map[int64]*Revision) error {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = itoa(id)
	}
	params := url.Values{
		"action": {"query"}, "prop": {"revisions"}, "revids": {strings.Join(s, "|")},
		"rvprop": {"content|ids|timestamp|size|user|userid|sha1"}, "rvslots": {"main"},
	}
	for range maxContinues {
		var resp revisionsResponse
		if err := f.api.get(ctx, params, &resp); err != nil {
			return fmt.Errorf("fetch revisions: %w", err)
		}
		for _, p := range resp.Query.Pages {
			for _, rv := range p.Revisions {
				main, ok := rv.Slots["main"]
				if !ok || main.TextMissing || main.Missing {
					continue // the content did not come (yet): treat as absent
				}
				r := &Revision{ID: rv.RevID, ParentID: rv.ParentID, PageID: p.PageID, Namespace: p.NS,
					PrefixedTitle: p.Title, User: rv.User, UserID: rv.UserID, Size: rv.Size, SHA1: rv.SHA1,
					ContentModel: main.ContentModel, ContentFormat: main.ContentFormat,
					Content: main.Content, TextHidden: main.TextHidden}
				if rv.Timestamp != "" {
					t, err := parseTime(rv.Timestamp)
					if err != nil {
						return fmt.Errorf("fetch revisions: revision %d: timestamp: %w", rv.RevID, err)
					}
					r.Timestamp = t
				}
				out[r.ID] = r
				f.revs.add(r.ID, r)
			}
		}
		if len(resp.Continue) == 0 {
			return nil
		}
		for k, v := range resp.Continue {
			params.Set(k, v)
		}
	}
	return errors.New("fetch revisions: too many continuations")
}

// Users returns what the wiki says of these user names (list=users with
// groups, edit count, registration, rights, block and emailable; for IP
// addresses, list=blocks), keyed by the names as given, asking for those
// not cached in batches of 50. Every name gets a User: Missing for no
// such account, Invalid for a name that is not one, IP for an address.
func (f *Fetcher) Users(ctx context.Context, names []string) (map[string]*User, error) {
	out := make(map[string]*User, len(names))
	var todo []string
	for _, n := range names {
		if _, ok := out[n]; ok || slices.Contains(todo, n) {
			continue
		}
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, "|\x1f") {
			out[n] = &User{Name: n, Invalid: true} // could not be asked for
			continue
		}
		if u, ok := f.users.get(n); ok {
			out[n] = u
		} else {
			todo = append(todo, n)
		}
	}
	for batch := range slices.Chunk(todo, userBatch) {
		if err := f.fetchUsers(ctx, batch, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// User returns what the wiki says of one user name.
func (f *Fetcher) User(ctx context.Context, name string) (*User, error) {
	m, err := f.Users(ctx, []string{name})
	if err != nil {
		return nil, err
	}
	return m[name], nil
}

type usersResponse struct {
	Query struct {
		Users []struct {
			UserID           int64    `json:"userid"`
			Name             string   `json:"name"`
			Missing          bool     `json:"missing"`
			Invalid          bool     `json:"invalid"`
			EditCount        *int64   `json:"editcount"`
			Registration     *string  `json:"registration"`
			Groups           []string `json:"groups"`
			Rights           []string `json:"rights"`
			Emailable        *bool    `json:"emailable"`
			BlockID          int64    `json:"blockid"`
			BlockedBy        string   `json:"blockedby"`
			BlockReason      string   `json:"blockreason"`
			BlockedTimestamp string   `json:"blockedtimestamp"`
			BlockExpiry      string   `json:"blockexpiry"`
			BlockPartial     bool     `json:"blockpartial"`
			BlockNoCreate    bool     `json:"blocknocreate"`
			BlockAnonOnly    bool     `json:"blockanononly"`
		} `json:"users"`
		Blocks []struct {
			ID        int64  `json:"id"`
			User      string `json:"user"`
			By        string `json:"by"`
			Timestamp string `json:"timestamp"`
			Expiry    string `json:"expiry"`
			Reason    string `json:"reason"`
			AnonOnly  bool   `json:"anononly"`
			NoCreate  bool   `json:"nocreate"`
			Partial   bool   `json:"partial"`
		} `json:"blocks"`
	} `json:"query"`
}

func (f *Fetcher) fetchUsers(ctx context.Context, names []string, out map[string]*User) error {
	var ips []string
	for _, n := range names {
		if isIP(n) {
			ips = append(ips, n)
		}
	}
	params := url.Values{
		"action": {"query"}, "list": {"users"}, "ususers": {strings.Join(names, "|")},
		"usprop": {"groups|editcount|registration|rights|blockinfo|emailable"},
	}
	if len(ips) > 0 {
		// list=users calls IP addresses invalid; their blocks are in list=blocks.
		params.Set("list", "users|blocks")
		params.Set("bkusers", strings.Join(ips, "|"))
		params.Set("bkprop", "id|user|by|timestamp|expiry|reason|flags")
		params.Set("bklimit", "max")
	}
	var resp usersResponse
	if err := f.api.get(ctx, params, &resp); err != nil {
		return fmt.Errorf("fetch users: %w", err)
	}
	byName := map[string]*User{}
	for _, ru := range resp.Query.Users {
		u := &User{Name: ru.Name, ID: ru.UserID, Missing: ru.Missing, Invalid: ru.Invalid,
			Groups: ru.Groups, Rights: ru.Rights, EditCount: ru.EditCount, Emailable: ru.Emailable}
		if ru.Registration != nil && *ru.Registration != "" {
			t, err := parseTime(*ru.Registration)
			if err != nil {
				return fmt.Errorf("fetch users: %s: registration: %w", ru.Name, err)
			}
			u.Registration = &t
		}
		if ru.BlockID != 0 {
			b := &Block{ID: ru.BlockID, By: ru.BlockedBy, Reason: ru.BlockReason, Partial: ru.BlockPartial,
				NoCreate: ru.BlockNoCreate, AnonOnly: ru.BlockAnonOnly}
			if err := b.setTimes(ru.BlockedTimestamp, ru.BlockExpiry); err != nil {
				return fmt.Errorf("fetch users: %s: %w", ru.Name, err)
			}
			u.Block = b
		}
		byName[ru.Name] = u
	}
	blocks := map[netip.Addr]*Block{}
	for _, rb := range resp.Query.Blocks {
		a, err := netip.ParseAddr(rb.User)
		if err != nil {
			continue // a range block
		}
		b := &Block{ID: rb.ID, By: rb.By, Reason: rb.Reason, Partial: rb.Partial, NoCreate: rb.NoCreate,
			AnonOnly: rb.AnonOnly}
		if err := b.setTimes(rb.Timestamp, rb.Expiry); err != nil {
			return fmt.Errorf("fetch users: block %d: %w", rb.ID, err)
		}
		blocks[a] = b
	}
	for _, n := range names {
		var u *User
		if a, err := netip.ParseAddr(n); err == nil {
			u = &User{Name: n, IP: true, Groups: []string{"*"}, Block: blocks[a]}
		} else if u = byName[n]; u == nil {
			u = byName[canonicalUserName(n)]
		}
		if u == nil {
			return fmt.Errorf("fetch users: the wiki did not answer for %q", n)
		}
		out[n] = u
		f.users.add(n, u)
	}
	return nil
}

func (b *Block) setTimes(timestamp, expiry string) error {
	if timestamp != "" {
		t, err := parseTime(timestamp)
		if err != nil {
			return fmt.Errorf("block timestamp: %w", err)
		}
		b.Timestamp = t
	}
	exp, err := parseExpiry(expiry)
	if err != nil {
		return fmt.Errorf("block expiry: %w", err)
	}
	b.Expiry = exp
	return nil
}

// canonicalUserName approximates MediaWiki's user name normalization:
// underscores are spaces, spaces collapse and trim, the first letter is
// upper case.
func canonicalUserName(n string) string {
	n = strings.Join(strings.Fields(strings.ReplaceAll(n, "_", " ")), " ")
	r, size := utf8.DecodeRuneInString(n)
	if r == utf8.RuneError {
		return n
	}
	return string(unicode.ToUpper(r)) + n[size:]
}

// Title returns how the wiki reads a prefixed title: its namespace number
// and the title without the prefix (the RC feed names a move's target
// only by its prefixed title, in the wiki's language).
func (f *Fetcher) Title(ctx context.Context, prefixed string) (ns int, title string, err error) {
	var resp struct {
		Query struct {
			Pages []struct {
				NS    int    `json:"ns"`
				Title string `json:"title"`
			} `json:"pages"`
		} `json:"query"`
	}
	if err := f.api.get(ctx, url.Values{"action": {"query"}, "titles": {prefixed}}, &resp); err != nil {
		return 0, "", fmt.Errorf("title %q: %w", prefixed, err)
	}
	if len(resp.Query.Pages) != 1 {
		return 0, "", fmt.Errorf("title %q: the wiki returned %d pages", prefixed, len(resp.Query.Pages))
	}
	p := resp.Query.Pages[0]
	return p.NS, splitTitle(p.NS, p.Title), nil
}
