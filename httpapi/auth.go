package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigilwiki/vigil"
)

// HashToken is how a token's secret is stored: its SHA-256.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewTokenSecret returns a new random secret, prefixed so that it is easy
// to recognise in a leaked file.
func NewTokenSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "vgl_" + base64.RawURLEncoding.EncodeToString(b)
}

// tokenCache keeps recently checked tokens for a few seconds, so that a
// busy caller does not cost a database read per request; a revoked token
// stops working within tokenTTL.
type tokenCache struct {
	store vigil.TokenStore
	mu    sync.Mutex
	m     map[string]cachedToken
}

type cachedToken struct {
	tok     *vigil.Token
	expires time.Time
}

const tokenTTL = 10 * time.Second

func (c *tokenCache) find(ctx context.Context, secret string) (*vigil.Token, error) {
	key := string(HashToken(secret))
	now := time.Now()
	c.mu.Lock()
	ct, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(ct.expires) {
		return ct.tok, nil
	}
	tok, err := c.store.FindToken(ctx, []byte(key))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[key] = cachedToken{tok: tok, expires: now.Add(tokenTTL)}
	c.mu.Unlock()
	return tok, nil
}

type tokenKey struct{}

// tokenOf returns the request's authenticated token.
func tokenOf(r *http.Request) *vigil.Token {
	t, _ := r.Context().Value(tokenKey{}).(*vigil.Token)
	return t
}

// requireScope lets a request through when its bearer token has one of
// the scopes.
func requireScope(tokens *tokenCache, log *slog.Logger, scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			secret, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || secret == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
				writeError(w, r, log, vigil.Errorf(vigil.EUNAUTHORIZED, "give a service token: Authorization: Bearer <token>"))
				return
			}
			tok, err := tokens.find(r.Context(), secret)
			if err != nil {
				if vigil.ErrorCode(err) == vigil.ENOTFOUND {
					err = vigil.Errorf(vigil.EUNAUTHORIZED, "unknown or revoked token")
				}
				writeError(w, r, log, err)
				return
			}
			allowed := false
			for _, s := range scopes {
				allowed = allowed || tok.Has(s)
			}
			if !allowed {
				writeError(w, r, log, vigil.Errorf(vigil.EFORBIDDEN, "the token %q lacks the scope %s", tok.Name, strings.Join(scopes, " or ")))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
		})
	}
}
