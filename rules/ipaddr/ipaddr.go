// Package ipaddr answers AbuseFilter's ip_in_range and ip_in_ranges the way
// Wikimedia's IPUtils does: IPv4 and IPv6 addresses (no embedded IPv4, no
// zones), CIDR ranges, "a - b" ranges and single addresses, compared
// through IPUtils' hexadecimal forms.
package ipaddr

import (
	"fmt"
	"strconv"
	"strings"
)

// parseV4 reads IPUtils' RE_IP_ADD: four dotted bytes of 1-3 digits each
// (leading zeros allowed) no larger than 255.
func parseV4(s string) ([4]byte, bool) {
	var out [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return out, false
	}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 3 || !allDigits(p) {
			return out, false
		}
		n, _ := strconv.Atoi(p)
		if n > 255 {
			return out, false
		}
		out[i] = byte(n)
	}
	return out, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// prefix reads a CIDR prefix length: decimal without leading zeros, 0..max.
func prefix(s string, max int) (int, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' || !allDigits(s) || len(s) > 3 {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= max
}

// parseV6 reads IPUtils' RE_IPV6_ADD: eight groups of 1-4 hex digits, or
// fewer with exactly one "::".
func parseV6(s string) ([16]byte, bool) {
	var out [16]byte
	if s == "" {
		return out, false
	}
	head, tail, double := strings.Cut(s, "::")
	if double && strings.Contains(tail, "::") {
		return out, false
	}
	var groups []uint16
	readGroups := func(part string) ([]uint16, bool) {
		if part == "" {
			return nil, true
		}
		var gs []uint16
		for _, g := range strings.Split(part, ":") {
			if len(g) == 0 || len(g) > 4 {
				return nil, false
			}
			v, err := strconv.ParseUint(g, 16, 16)
			if err != nil {
				return nil, false
			}
			gs = append(gs, uint16(v))
		}
		return gs, true
	}
	h, ok := readGroups(head)
	if !ok {
		return out, false
	}
	if !double {
		if len(h) != 8 {
			return out, false
		}
		groups = h
	} else {
		t, ok := readGroups(tail)
		if !ok || len(h)+len(t) > 7 {
			return out, false
		}
		groups = append(append(h, make([]uint16, 8-len(h)-len(t))...), t...)
	}
	for i, g := range groups {
		out[2*i], out[2*i+1] = byte(g>>8), byte(g)
	}
	return out, true
}

// isIPv4 and isIPv6 accept an optional CIDR suffix, as IPUtils' do.
func isIPv4(s string) bool {
	addr, pfx, hasPfx := strings.Cut(s, "/")
	if _, ok := parseV4(addr); !ok {
		return false
	}
	if hasPfx {
		_, ok := prefix(pfx, 32)
		return ok
	}
	return true
}

func isIPv6(s string) bool {
	addr, pfx, hasPfx := strings.Cut(s, "/")
	if _, ok := parseV6(addr); !ok {
		return false
	}
	if hasPfx {
		_, ok := prefix(pfx, 128)
		return ok
	}
	return true
}

// isIPv4Range is RE_IP_RANGE: a CIDR range or "a-b" with at most one space
// on each side of the hyphen.
func isIPv4Range(s string) bool {
	if addr, pfx, ok := strings.Cut(s, "/"); ok {
		_, okA := parseV4(addr)
		_, okP := prefix(pfx, 32)
		return okA && okP
	}
	a, b, ok := cutRange(s)
	if !ok {
		return false
	}
	_, okA := parseV4(a)
	_, okB := parseV4(b)
	return okA && okB
}

func isIPv6Range(s string) bool {
	if addr, pfx, ok := strings.Cut(s, "/"); ok {
		_, okA := parseV6(addr)
		_, okP := prefix(pfx, 128)
		return okA && okP
	}
	a, b, ok := cutRange(s)
	if !ok {
		return false
	}
	_, okA := parseV6(a)
	_, okB := parseV6(b)
	return okA && okB
}

// cutRange splits "a-b", "a -b", "a- b" or "a - b".
func cutRange(s string) (string, string, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return "", "", false
	}
	a = strings.TrimSuffix(a, " ")
	b = strings.TrimPrefix(b, " ")
	return a, b, true
}

// ValidRange reports what AbuseFilter accepts as a range: IPUtils'
// isValidRange or isIPAddress.
func ValidRange(r string) bool {
	return isIPv4Range(r) || isIPv6Range(r) || isIPv4(r) || isIPv6(r)
}

// toHex is IPUtils::toHex: 8 hex digits for IPv4, "v6-" and 32 for IPv6.
func toHex(ip string) (string, bool) {
	if isIPv6(ip) {
		addr, _, hasPfx := strings.Cut(strings.TrimSpace(ip), "/")
		if hasPfx {
			// IPUtils folds the suffix into its hex form; no real address
			// compares equal to that, so we refuse it.
			return "", false
		}
		a, _ := parseV6(addr)
		return fmt.Sprintf("v6-%X", a[:]), true
	}
	if isIPv4(ip) {
		addr, _, hasPfx := strings.Cut(ip, "/")
		if hasPfx {
			// ip2long() fails on "a.b.c.d/n" and IPUtils then uses 0.
			return "00000000", true
		}
		a, _ := parseV4(addr)
		return fmt.Sprintf("%02X%02X%02X%02X", a[0], a[1], a[2], a[3]), true
	}
	return "", false
}

// ip2long is PHP's ip2long: strict dotted quads without leading zeros.
func ip2long(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	var n uint32
	for _, p := range parts {
		if p == "" || len(p) > 3 || !allDigits(p) || len(p) > 1 && p[0] == '0' {
			return 0, false
		}
		v, _ := strconv.Atoi(p)
		if v > 255 {
			return 0, false
		}
		n = n<<8 | uint32(v)
	}
	return n, true
}

// parseRange is IPUtils::parseRange: the first and last address of a range
// as hex strings.
func parseRange(r string) (start, end string, ok bool) {
	switch {
	case strings.Contains(r, "/"):
		if isIPv6(r) {
			addr, pfx, _ := strings.Cut(strings.TrimSpace(r), "/")
			a, okA := parseV6(addr)
			bits, okP := prefix(pfx, 128)
			if !okA || !okP {
				return "", "", false
			}
			lo, hi := a, a
			for i := 0; i < 16; i++ {
				keep := bits - 8*i
				var mask byte
				switch {
				case keep >= 8:
					mask = 0xFF
				case keep > 0:
					mask = byte(0xFF << (8 - keep))
				}
				lo[i] &= mask
				hi[i] = lo[i] | ^mask
			}
			return fmt.Sprintf("v6-%X", lo[:]), fmt.Sprintf("v6-%X", hi[:]), true
		}
		addr, pfx, _ := strings.Cut(r, "/")
		network, okA := ip2long(addr)
		bits, err := strconv.Atoi(strings.TrimSpace(pfx))
		if !okA || err != nil || bits < 0 || bits > 32 {
			return "", "", false
		}
		size := uint64(1) << (32 - bits)
		net := uint64(network) &^ (size - 1)
		return fmt.Sprintf("%08X", net), fmt.Sprintf("%08X", net+size-1), true
	case strings.Contains(r, "-"):
		a, b, _ := strings.Cut(r, "-")
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		switch {
		case isIPv6(a) && isIPv6(b):
			ha, okA := toHex(a)
			hb, okB := toHex(b)
			if !okA || !okB || ha > hb {
				return "", "", false
			}
			return ha, hb, true
		case isIPv4(a) && isIPv4(b):
			ha, _ := toHex(a)
			hb, _ := toHex(b)
			if ha > hb {
				return "", "", false
			}
			return ha, hb, true
		}
		return "", "", false
	}
	h, ok := toHex(r)
	return h, h, ok
}

// InRange is IPUtils::isInRange.
func InRange(ip, r string) bool {
	h, ok := toHex(ip)
	if !ok {
		return false
	}
	start, end, ok := parseRange(r)
	return ok && h >= start && h <= end
}

// InRanges is IPUtils::isInRanges: only ranges of the address's family
// count.
func InRanges(ip string, ranges []string) bool {
	var valid func(string) bool
	switch {
	case isIPv6(ip):
		valid = func(r string) bool {
			_, plain := parseV6(r)
			return plain || isIPv6Range(r)
		}
	case isIPv4(ip):
		valid = func(r string) bool {
			_, plain := parseV4(r)
			return plain || isIPv4Range(r)
		}
	default:
		return false
	}
	h, ok := toHex(ip)
	if !ok {
		return false
	}
	for _, r := range ranges {
		if !valid(r) {
			continue
		}
		if start, end, ok := parseRange(r); ok && h >= start && h <= end {
			return true
		}
	}
	return false
}
