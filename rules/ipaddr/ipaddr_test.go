package ipaddr

import "testing"

// The expectations are the results of Wikimedia's IPUtils (PHP) for the
// same calls, as AbuseFilter's parser tests and IPUtils' own tests state
// them.
func TestInRange(t *testing.T) {
	tests := []struct {
		ip, r string
		want  bool
	}{
		{"12.34.56.78", "12.34.56.0/24", true},
		{"12.34.56.78", "12.34.0.0/16", true},
		{"1.1.1.1", "0.0.0.0/1", true},
		{"123.123.123.123", "123.123.123.123", true},
		{"123.123.123.123", "123.0.0.0-124.0.0.0", true},
		{"123.123.123.123", "123.0.0.0 - 124.0.0.0", true},
		{"123.123.123.123", "125.0.0.0-124.0.0.0", false}, // reversed: empty
		{"11.11.11.11", "11.11.11.1", false},
		{"1.1.1.1", "1.1.1.1-255.255.255.255", true},
		{"2001:db8:85a3::8a2e:0370:7334", "2001:db8:85a3::8a2e:370:7334/113", true},
		{"2001:db8:85a3::8a2e:0370:7334", "2001:db8:85a3::8a2e:370:0000-2001:db8:85a3::8a2e:370:8888", true},
		{"1.1.1.1", "2001:db8:85a3::8a2e:370:0000-2001:db8:85a3::8a2e:370:8888", false},
		{"2001:db8:85a3::8a2e:370:0000", "0.0.0.0-255.255.255.255", false},
		{"127.0.10.0", "127.0.0.0/12", true},
		{"010.1.1.1", "10.1.1.1", true}, // leading zeros read as decimal
		{"not an ip", "0.0.0.0/0", false},
		{"::1", "::/0", true},
	}
	for _, tt := range tests {
		if !ValidRange(tt.r) {
			t.Errorf("ValidRange(%q) = false", tt.r)
		}
		if got := InRange(tt.ip, tt.r); got != tt.want {
			t.Errorf("InRange(%q, %q) = %v, want %v", tt.ip, tt.r, got, tt.want)
		}
	}
	for _, bad := range []string{"", "1.2.3", "1.2.3.4/33", "1.2.3.4/08", "256.1.1.1", "::1::2", "1.2.3.4-::1", "foo", "1.2.3.4 -  1.2.3.5"} {
		if ValidRange(bad) {
			t.Errorf("ValidRange(%q) = true", bad)
		}
	}
	if !InRanges("12.34.56.78", []string{"12.1.2.255/8", "::"}) || InRanges("1.1.1.1", []string{"::", "::/0", "::/1"}) {
		t.Error("InRanges")
	}
}
