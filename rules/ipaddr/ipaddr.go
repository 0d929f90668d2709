// Package ipaddr answers AbuseFilter's ip_in_range and ip_in_ranges the way
// Wikimedia's IPUtils does: IPv4 and IPv6 addresses (no embedded IPv4, no
// zones), CIDR ranges, "a - b" ranges and single addresses. IPUtils
// compares hexadecimal strings; this package compares the same numbers
// directly, and keeps parsed ranges so that a rule's constant ranges are
// read once.
package ipaddr

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// addr is an address of one family, as 16 bytes (IPv4 in the first 4).
type addr struct {
	b  [16]byte
	v6 bool
}

func (a addr) less(b addr) bool { return bytes.Compare(a.b[:], b.b[:]) < 0 }

// parseV4 reads IPUtils' RE_IP_ADD: four dotted bytes of 1-3 digits each
// (leading zeros allowed) no larger than 255.
func parseV4(s string) (addr, bool) {
	var out addr
	part := 0
	for i := 0; i < 4; i++ {
		j := 0
		n := 0
		for j < len(s) && j < 4 && s[j] >= '0' && s[j] <= '9' {
			n = n*10 + int(s[j]-'0')
			j++
		}
		if j == 0 || j > 3 || n > 255 {
			return out, false
		}
		out.b[part] = byte(n)
		part++
		s = s[j:]
		if i < 3 {
			if len(s) == 0 || s[0] != '.' {
				return out, false
			}
			s = s[1:]
		}
	}
	return out, s == ""
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
	if s == "" || len(s) > 3 || len(s) > 1 && s[0] == '0' || !allDigits(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= max
}

func hexGroup(g string) (uint16, bool) {
	if len(g) == 0 || len(g) > 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < len(g); i++ {
		c := g[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}

// parseV6 reads IPUtils' RE_IPV6_ADD: eight groups of 1-4 hex digits, or
// fewer with exactly one "::".
func parseV6(s string) (addr, bool) {
	out := addr{v6: true}
	if s == "" {
		return out, false
	}
	head, tail, double := strings.Cut(s, "::")
	if double && strings.Contains(tail, "::") {
		return out, false
	}
	var groups [8]uint16
	read := func(part string, into []uint16) (int, bool) {
		if part == "" {
			return 0, true
		}
		k := 0
		for part != "" {
			g, rest, _ := strings.Cut(part, ":")
			if k >= len(into) {
				return 0, false
			}
			v, ok := hexGroup(g)
			if !ok {
				return 0, false
			}
			into[k] = v
			k++
			if rest == "" && strings.HasSuffix(part, ":") {
				return 0, false
			}
			part = rest
		}
		return k, true
	}
	h, ok := read(head, groups[:])
	if !ok {
		return out, false
	}
	if !double {
		if h != 8 {
			return out, false
		}
	} else {
		var tailGroups [8]uint16
		t, ok := read(tail, tailGroups[:])
		if !ok || h+t > 7 {
			return out, false
		}
		copy(groups[8-t:], tailGroups[:t])
	}
	for i, g := range groups {
		out.b[2*i], out.b[2*i+1] = byte(g>>8), byte(g)
	}
	return out, true
}

// rangeSpec is a parsed range: first and last address, or invalid.
type rangeSpec struct {
	lo, hi addr
	ok     bool
}

// parseAddress is IPUtils::toHex: an address, optionally with a CIDR
// suffix. IPv4 "a.b.c.d/n" reads as 0.0.0.0 (ip2long fails and IPUtils
// uses 0); IPv6 with a suffix is refused.
func parseAddress(s string) (addr, bool) {
	a, pfx, hasPfx := strings.Cut(s, "/")
	if v6, ok := parseV6(a); ok {
		if hasPfx {
			// IPUtils folds the suffix into its hex form, which no range
			// holds.
			return addr{}, false
		}
		return v6, true
	}
	if v4, ok := parseV4(a); ok {
		if hasPfx {
			if _, ok := prefix(pfx, 32); !ok {
				return addr{}, false
			}
			return addr{}, true
		}
		return v4, true
	}
	return addr{}, false
}

// ip2long is PHP's ip2long: strict dotted quads without leading zeros.
func ip2long(s string) (addr, bool) {
	for _, p := range strings.Split(s, ".") {
		if len(p) > 1 && p[0] == '0' {
			return addr{}, false
		}
	}
	return parseV4(s)
}

// mask keeps the first bits of a and sets the rest to 0 (lo) or 1 (hi).
func mask(a addr, bits int, ones bool) addr {
	total := 32
	if a.v6 {
		total = 128
	}
	for i := 0; i < total/8; i++ {
		keep := bits - 8*i
		var m byte
		switch {
		case keep >= 8:
			m = 0xFF
		case keep > 0:
			m = byte(0xFF << (8 - keep))
		}
		if ones {
			a.b[i] = a.b[i]&m | ^m
		} else {
			a.b[i] &= m
		}
	}
	return a
}

// cutRange splits "a-b", "a -b", "a- b" or "a - b".
func cutRange(s string) (string, string, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return "", "", false
	}
	return strings.TrimSuffix(a, " "), strings.TrimPrefix(b, " "), true
}

// valid reports IPUtils' isValidRange || isIPAddress: a CIDR range, an
// "a - b" range or an address (with an optional CIDR suffix), of one
// family.
func valid(r string) bool {
	if a, pfx, ok := strings.Cut(r, "/"); ok {
		if _, ok := parseV4(a); ok {
			_, ok := prefix(pfx, 32)
			return ok
		}
		if _, ok := parseV6(a); ok {
			_, ok := prefix(pfx, 128)
			return ok
		}
		return false
	}
	if a, b, ok := cutRange(r); ok {
		_, a4 := parseV4(a)
		_, b4 := parseV4(b)
		_, a6 := parseV6(a)
		_, b6 := parseV6(b)
		return a4 && b4 || a6 && b6
	}
	_, ok4 := parseV4(r)
	_, ok6 := parseV6(r)
	return ok4 || ok6
}

// parseRange is IPUtils::parseRange.
func parseRange(r string) rangeSpec {
	switch {
	case strings.Contains(r, "/"):
		a, pfx, _ := strings.Cut(strings.TrimSpace(r), "/")
		if v6, ok := parseV6(a); ok {
			bits, ok := prefix(pfx, 128)
			if !ok {
				return rangeSpec{}
			}
			return rangeSpec{mask(v6, bits, false), mask(v6, bits, true), true}
		}
		network, ok := ip2long(strings.Split(r, "/")[0])
		bits, err := strconv.Atoi(strings.TrimSpace(pfx))
		if !ok || err != nil || bits < 0 || bits > 32 {
			return rangeSpec{}
		}
		return rangeSpec{mask(network, bits, false), mask(network, bits, true), true}
	case strings.Contains(r, "-"):
		a, b, _ := strings.Cut(r, "-")
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		lo6, okA6 := parseV6(a)
		hi6, okB6 := parseV6(b)
		if okA6 && okB6 {
			return rangeSpec{lo6, hi6, !hi6.less(lo6)}
		}
		lo4, okA4 := parseV4(a)
		hi4, okB4 := parseV4(b)
		if okA4 && okB4 {
			return rangeSpec{lo4, hi4, !hi4.less(lo4)}
		}
		return rangeSpec{}
	}
	a, ok := parseAddress(r)
	return rangeSpec{a, a, ok}
}

func (rs rangeSpec) contains(a addr) bool {
	return rs.ok && rs.lo.v6 == a.v6 && !a.less(rs.lo) && !rs.hi.less(a)
}

// ranges caches parsed ranges: a rule's ranges are usually constants.
var ranges sync.Map // string -> rangeInfo

type rangeInfo struct {
	valid bool
	spec  rangeSpec
}

func lookup(r string) rangeInfo {
	if v, ok := ranges.Load(r); ok {
		return v.(rangeInfo)
	}
	info := rangeInfo{valid: valid(r), spec: parseRange(r)}
	if len(r) <= 128 {
		ranges.Store(r, info)
	}
	return info
}

// Range is a range parsed ahead, for a rule's constant ranges.
type Range struct{ info rangeInfo }

// ParseRange parses r (valid or not: see Valid).
func ParseRange(r string) Range { return Range{lookup(r)} }

// Valid reports whether AbuseFilter accepts the range.
func (r Range) Valid() bool { return r.info.valid }

// Contains is InRange for a parsed range and address.
func (r Range) Contains(a Address) bool { return a.ok && r.info.spec.contains(a.a) }

// Address is an address parsed once and tested against many ranges.
type Address struct {
	a  addr
	ok bool
}

// ParseAddress parses an address as InRange reads it.
func ParseAddress(s string) Address {
	a, ok := parseAddress(s)
	return Address{a, ok}
}

// ValidRange reports what AbuseFilter accepts as a range.
func ValidRange(r string) bool { return lookup(r).valid }

// InRange is IPUtils::isInRange.
func InRange(ip, r string) bool { return ParseRange(r).Contains(ParseAddress(ip)) }

// InRanges is IPUtils::isInRanges: true when the address is in any of
// the ranges (only ranges of its own family can hold it).
func InRanges(ip string, rs []string) bool {
	a := ParseAddress(ip)
	for _, r := range rs {
		if ParseRange(r).Contains(a) {
			return true
		}
	}
	return false
}
