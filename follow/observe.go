package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigilwiki/vigil"
)

// Screener screens an action that already happened (Vigil's observe
// mode: logged, not enforced).
type Screener func(ctx context.Context, a *vigil.Action) error

// ObserverConfig sets up an Observer.
type ObserverConfig struct {
	// Screen sends each action to Vigil.
	Screen Screener
	// Wiki, when set, replaces the events' wiki id (a wiki known to Vigil
	// under another name than its database name).
	Wiki string
	// Fetch gets what filters need (wikitexts, user facts) from each
	// wiki's Action API. Without it, actions carry what the events carry.
	Fetch bool
	// Fetcher settings for each wiki's API (APIURL is set per wiki).
	Fetcher FetcherConfig
	// APIURL, when set, is the API of every event's wiki, and the only
	// place fetched from.
	APIURL string
	// FetchHosts, without APIURL, are the hosts whose wikis may be asked
	// (https only; "wikipedia.org" allows its subdomains): an event names
	// its wiki's server, and an event must not choose where Vigil sends
	// requests. Empty: only APIURL.
	FetchHosts []string
	// Retry bounds the wait between attempts when Vigil is unreachable
	// (default 1 s to 1 min). Events wait; none is skipped.
	MinRetry, MaxRetry time.Duration
	Logger             *slog.Logger
}

// Observer turns followed events into Vigil actions and screens them. Its
// Handle is a Handler: it returns only when the event is screened (or
// cannot be, for good), so the caller may then persist the position.
type Observer struct {
	cfg      ObserverConfig
	log      *slog.Logger
	mu       sync.Mutex
	fetchers map[string]*Fetcher
	// Counts, for reports and tests.
	Screened, Skipped, Failed int
	warned                    map[string]bool
}

// maxFetchers bounds the wikis an Observer keeps a Fetcher (and caches) for.
const maxFetchers = 1000

// maxAttempts bounds how often an action Vigil fails on (HTTP 500) is sent
// again before it is skipped; while Vigil is unreachable, events wait.
const maxAttempts = 5

// NewObserver returns an Observer.
func NewObserver(cfg ObserverConfig) *Observer {
	if cfg.MinRetry <= 0 {
		cfg.MinRetry = time.Second
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Observer{cfg: cfg, log: log, fetchers: map[string]*Fetcher{}, warned: map[string]bool{}}
}

// Handle screens one event. Changes Vigil does not screen are skipped. An
// action Vigil refuses as invalid is logged and skipped (retrying would
// not help); while Vigil is unreachable Handle waits and retries, until
// ctx ends.
func (o *Observer) Handle(ctx context.Context, ev Event) error {
	a, err := o.Action(ctx, ev)
	if err != nil {
		return err
	}
	if a == nil {
		o.Skipped++
		return nil
	}
	b := newBackoff(o.cfg.MinRetry, o.cfg.MaxRetry)
	for attempt := 1; ; attempt++ {
		err := o.cfg.Screen(ctx, a)
		switch code := vigil.ErrorCode(err); {
		case err == nil:
			o.Screened++
			return nil
		case code == vigil.EINVALID || code == vigil.ETOOLARGE || code == vigil.EINTERNAL && attempt >= maxAttempts:
			// Sending it again would not help: skipped, so that one bad
			// event does not stop the follower.
			o.Failed++
			o.log.Error("Vigil did not screen a followed action; skipped", "wiki", a.Wiki, "action", a.Action,
				"position", ev.Position, "attempts", attempt, "err", err)
			return nil
		case code == vigil.EUNAUTHORIZED || code == vigil.EFORBIDDEN:
			return fmt.Errorf("screen: %w", err)
		}
		d := b.next()
		o.log.Warn("Vigil unavailable; the event waits", "position", ev.Position, "retry_in", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Action builds the action of an event, fetching texts and user facts when
// configured; nil for a change Vigil does not screen.
func (o *Observer) Action(ctx context.Context, ev Event) (*vigil.Action, error) {
	kind := ev.ActionKind()
	if kind == "" {
		return nil, nil
	}
	wiki := ev.Wiki
	if o.cfg.Wiki != "" {
		wiki = o.cfg.Wiki
	}
	a := &vigil.Action{Wiki: wiki, Action: kind, Time: ev.Timestamp.UTC(),
		Performer: vigil.Performer{Name: ev.User, ID: ev.UserID}}
	switch {
	case isIP(ev.User):
		a.Performer.Type, a.IP = "ip", ev.User // an IP editor's address is its public name
	case strings.HasPrefix(ev.User, "~"):
		a.Performer.Type = "temp"
	default:
		a.Performer.Type = "named"
	}
	if p := ev.Performer; p != nil {
		applyUser(a, p)
	}
	summary := ev.Comment
	a.Summary = &summary
	page := &vigil.Page{ID: ev.PageID, Namespace: ev.Namespace, Title: ev.Title}
	switch kind {
	case vigil.ActionCreateAccount, vigil.ActionAutoCreateAccount:
		a.AccountName = ev.Title // the log entry's page is User:<new name>
		if kind == vigil.ActionCreateAccount && ev.User == ev.Title {
			// Created by themselves: AbuseFilter sees an anonymous user.
			a.Performer = vigil.Performer{Name: "127.0.0.1", Type: "ip"}
		}
	case vigil.ActionMove:
		a.Page = page
		t, ok := ev.MoveTarget()
		if !ok {
			return nil, nil
		}
		a.Target = &vigil.Page{Title: t.PrefixedTitle}
		switch {
		case t.Namespace != nil:
			a.Target.Namespace = *t.Namespace
			a.Target.Title = splitTitle(*t.Namespace, t.PrefixedTitle)
		default:
			a.Target.Namespace, a.Target.Title = canonicalNamespace(t.PrefixedTitle)
			// Only the wiki knows its localized namespace names.
			if api := o.apiOf(ev); o.cfg.Fetch && api != "" {
				f, err := o.fetcher(api)
				if err == nil {
					var ns int
					var title string
					if ns, title, err = f.Title(ctx, t.PrefixedTitle); err == nil {
						a.Target.Namespace, a.Target.Title = ns, title
					}
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if err != nil {
					o.log.Warn("move target read by canonical namespace names", "target", t.PrefixedTitle, "err", err)
				}
			}
		}
	default:
		a.Page = page
	}
	if o.cfg.Fetch {
		if err := o.fetch(ctx, ev, a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// fetch fills the action with the revisions' texts and the performer's
// facts from the wiki's API. A revision or user the wiki no longer shows
// (deleted, suppressed) is left out.
func (o *Observer) fetch(ctx context.Context, ev Event, a *vigil.Action) error {
	api := o.apiOf(ev)
	if api == "" {
		return nil
	}
	f, err := o.fetcher(api)
	if err != nil {
		o.log.Warn("nothing fetched", "err", err)
		return nil
	}
	if a.Action == vigil.ActionEdit {
		revs, err := f.Revisions(ctx, []int64{ev.OldRevID, ev.NewRevID})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Screened with what the event says; the filters that need
			// the texts see none.
			o.log.Warn("revisions not fetched", "page", ev.PrefixedTitle, "err", err)
			return nil
		}
		old := ""
		if r := revs[ev.OldRevID]; r != nil && !r.TextHidden {
			old = r.Content
			a.OldContentModel = &r.ContentModel
		}
		a.OldWikitext = &old
		if r := revs[ev.NewRevID]; r != nil {
			if a.Page.ID == 0 {
				a.Page.ID = r.PageID // recentchange events carry none
			}
			if !r.TextHidden {
				a.NewWikitext = &r.Content
				a.NewContentModel = &r.ContentModel
			}
		}
		if ev.OldRevID == 0 && a.Page != nil {
			a.Page.ID = 0 // a creation: the page did not exist before
		}
	}
	if a.Performer.Type != "ip" && a.Performer.Name != "" {
		u, err := f.User(ctx, a.Performer.Name)
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case err != nil:
			o.log.Warn("user facts not fetched", "user", a.Performer.Name, "err", err)
		case u != nil:
			applyUser(a, u)
			// The wiki counts the edit already; AbuseFilter saw the count
			// before it.
			if a.Action == vigil.ActionEdit && a.Performer.EditCount != nil && *a.Performer.EditCount > 0 {
				n := *a.Performer.EditCount - 1
				a.Performer.EditCount = &n
			}
		}
	}
	return nil
}

// apiOf is the Action API of an event's wiki, or "" when it may not be
// asked: APIURL if set, else the event's server when its host is allowed.
func (o *Observer) apiOf(ev Event) string {
	if o.cfg.APIURL != "" {
		return o.cfg.APIURL
	}
	api := ev.APIURL()
	u, err := url.Parse(api)
	if api == "" || err != nil || u.Scheme != "https" || u.User != nil {
		return ""
	}
	host := u.Hostname()
	for _, h := range o.cfg.FetchHosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return api
		}
	}
	if !o.warned[host] && len(o.warned) < maxFetchers {
		o.warned[host] = true
		o.log.Warn("not fetching from a host not allowed (--fetch-hosts)", "host", host)
	}
	return ""
}

func (o *Observer) fetcher(api string) (*Fetcher, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if f := o.fetchers[api]; f != nil {
		return f, nil
	}
	if len(o.fetchers) >= maxFetchers {
		return nil, fmt.Errorf("fetch from %s: already fetching from %d wikis", api, maxFetchers)
	}
	cfg := o.cfg.Fetcher
	cfg.APIURL = api
	if cfg.Logger == nil {
		cfg.Logger = o.log
	}
	f, err := NewFetcher(cfg)
	if err != nil {
		return nil, err
	}
	o.fetchers[api] = f
	return f, nil
}

// applyUser copies what the wiki says of the performer.
func applyUser(a *vigil.Action, u *User) {
	p := &a.Performer
	if u.ID != 0 {
		p.ID = u.ID
	}
	if len(u.Groups) > 0 {
		p.Groups = u.Groups
	}
	if len(u.Rights) > 0 {
		p.Rights = u.Rights
	}
	if u.EditCount != nil {
		p.EditCount = u.EditCount
	}
	if u.Registration != nil {
		p.Registration = u.Registration
	}
	// The API tells whether a user is emailable, not when the address was
	// confirmed (user_emailconfirm): left unknown.
	p.Blocked = u.Block != nil && !u.Block.Partial
}

// canonicalNamespace reads the namespace of a prefixed title by
// MediaWiki's canonical (English) names, when the wiki cannot be asked;
// other languages' names stay in the main namespace.
func canonicalNamespace(prefixed string) (int, string) {
	prefix, rest, ok := strings.Cut(prefixed, ":")
	if !ok {
		return 0, prefixed
	}
	names := map[string]int{"Talk": 1, "User": 2, "User talk": 3, "Project": 4, "Project talk": 5, "File": 6,
		"File talk": 7, "MediaWiki": 8, "MediaWiki talk": 9, "Template": 10, "Template talk": 11, "Help": 12,
		"Help talk": 13, "Category": 14, "Category talk": 15}
	if ns, ok := names[strings.ReplaceAll(prefix, "_", " ")]; ok {
		return ns, rest
	}
	return 0, prefixed
}
