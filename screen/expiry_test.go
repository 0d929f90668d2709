package screen

import (
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time // zero: indefinite
		ok   bool
	}{
		{"infinity", time.Time{}, true},
		{"Indefinite", time.Time{}, true},
		{"never", time.Time{}, true},
		{"31 hours", now.Add(31 * time.Hour), true},
		{"1 week", now.AddDate(0, 0, 7), true},
		{"2 weeks 3 days", now.AddDate(0, 0, 17), true},
		{"+1 month", time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), true}, // Go's AddDate normalises Feb 31, as strtotime does
		{"1year", now.AddDate(1, 0, 0), true},
		{"3 minutes, 10 seconds", now.Add(190 * time.Second), true},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"20261201000000", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"2025-12-01", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), false}, // in the past
		{"", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"5 fortnights x", time.Time{}, false},
		{"week", time.Time{}, false},
		{"-1 day", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseExpiry(tt.in, now)
		if ok != tt.ok || ok && !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
