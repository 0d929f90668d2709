package screen

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseExpiry reads a block duration as MediaWiki accepts it: "infinite"
// (or indefinite, infinity, never), a relative time ("31 hours",
// "1 week", "2 weeks 3 days", "+1 month") or an absolute time (RFC 3339,
// "2006-01-02", or MediaWiki's YYYYMMDDHHMMSS). A zero time means
// indefinite. ok is false for anything else, or a time not after now.
func ParseExpiry(s string, now time.Time) (expiry time.Time, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "infinite", "indefinite", "infinity", "never":
		return time.Time{}, true
	case "":
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "20060102150405"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, t.After(now)
		}
	}
	t, ok := addRelative(now, s)
	return t, ok && t.After(now)
}

// addRelative adds a sequence of "N unit" to now.
func addRelative(now time.Time, s string) (time.Time, bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	if len(fields) == 0 {
		return now, false
	}
	t := now
	for i := 0; i < len(fields); i++ {
		f := strings.TrimPrefix(fields[i], "+")
		// "1week" as well as "1 week".
		j := 0
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j == 0 {
			return now, false
		}
		n, err := strconv.Atoi(f[:j])
		if err != nil || n > 100000 {
			return now, false
		}
		unit := f[j:]
		if unit == "" {
			if i+1 >= len(fields) {
				return now, false
			}
			i++
			unit = fields[i]
		}
		switch strings.TrimSuffix(unit, "s") {
		case "sec", "second":
			t = t.Add(time.Duration(n) * time.Second)
		case "min", "minute":
			t = t.Add(time.Duration(n) * time.Minute)
		case "hour":
			t = t.Add(time.Duration(n) * time.Hour)
		case "day":
			t = t.AddDate(0, 0, n)
		case "week":
			t = t.AddDate(0, 0, 7*n)
		case "fortnight":
			t = t.AddDate(0, 0, 14*n)
		case "month":
			t = t.AddDate(0, n, 0)
		case "year":
			t = t.AddDate(n, 0, 0)
		default:
			return now, false
		}
	}
	return t, true
}
