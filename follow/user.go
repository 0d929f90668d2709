package follow

import (
	"net/netip"
	"time"
)

// User is what a wiki says about a user name: from list=users (and
// list=blocks for IP addresses) through a Fetcher, or in part from a
// revision-create event's performer.
type User struct {
	Name string `json:"name"`
	ID   int64  `json:"id,omitempty"` // 0 for an IP address or a missing account
	// IP is set when Name is an IP address: list=users calls those
	// invalid names, and their facts are those of the group "*".
	IP bool `json:"ip,omitempty"`
	// Missing: no such account. Invalid: not a user name (and not an IP).
	Missing bool `json:"missing,omitempty"`
	Invalid bool `json:"invalid,omitempty"`

	Groups       []string   `json:"groups,omitempty"` // effective groups, incl. "*" and implicit ones
	Rights       []string   `json:"rights,omitempty"`
	EditCount    *int64     `json:"edit_count,omitempty"`
	Registration *time.Time `json:"registration,omitempty"` // nil: unknown (very old accounts too)
	Emailable    *bool      `json:"emailable,omitempty"`
	// Block is the user's current block, or nil.
	Block *Block `json:"block,omitempty"`
}

// Block is a current block.
type Block struct {
	ID        int64      `json:"id"`
	By        string     `json:"by"`
	Reason    string     `json:"reason"`
	Timestamp time.Time  `json:"timestamp"`
	Expiry    *time.Time `json:"expiry,omitempty"` // nil: indefinite
	Partial   bool       `json:"partial,omitempty"`
	NoCreate  bool       `json:"nocreate,omitempty"`
	AnonOnly  bool       `json:"anononly,omitempty"`
}

// isIP reports whether a user name is an IP address (as MediaWiki writes
// them: IPv6 in upper case, which netip accepts).
func isIP(name string) bool {
	_, err := netip.ParseAddr(name)
	return err == nil
}

// parseExpiry reads an API expiry: a time, or "infinite"/"infinity"
// (list=users and list=blocks differ) for an indefinite block.
func parseExpiry(s string) (*time.Time, error) {
	switch s {
	case "", "infinite", "infinity", "indefinite", "never":
		return nil, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
