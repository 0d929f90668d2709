package screen

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMemStateForgetsExpired: expired counters and warn flags are dropped
// as writes go on, so memory follows the live keys.
func TestMemStateForgetsExpired(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := NewMemCounters().(*memCounters)
	f := NewMemFlags().(*memFlags)
	for i := range 10000 {
		c.Incr(fmt.Sprint("ip-", i), time.Second, t0)
		f.Set(fmt.Sprint("warn-", i), true, time.Second, t0)
	}
	if len(c.m) != 10000 || len(f.m) != 10000 {
		t.Fatalf("%d counters, %d flags", len(c.m), len(f.m))
	}
	later := t0.Add(2 * time.Second)
	for range 20000 {
		c.Incr("live", time.Minute, later)
		f.Set("live", true, time.Minute, later)
	}
	if len(c.m) > 100 || len(f.m) > 100 {
		t.Fatalf("expired entries kept: %d counters, %d flags", len(c.m), len(f.m))
	}
	if c.Get("live", later) != 20000 || !f.Get("live", later) {
		t.Fatal("the live entry was lost")
	}
}

// The hand-written checks agree with the patterns they replace.
func TestConsequenceParamChecks(t *testing.T) {
	positiveInt := regexp.MustCompile(`^[1-9][0-9]*$`)
	messageKey := regexp.MustCompile(`^[a-zA-Z0-9_.:-]{1,255}$`)
	cases := []string{"", "0", "1", "10", "007", "12a", "-1", "+1", " 1", "99999999999999999999", "abusefilter-warning",
		"a:b.c_d-e", "a b", "é", "x/y", strings.Repeat("k", 255), strings.Repeat("k", 256), "\\x00", "A\n"}
	rnd := rand.New(rand.NewPCG(1, 2))
	const alphabet = "09az AZ_.:-/\\é\n+"
	for range 3000 {
		b := make([]byte, rnd.IntN(8))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := isPositiveInt(c), positiveInt.MatchString(c); got != want {
			t.Errorf("isPositiveInt(%q) = %v, want %v", c, got, want)
		}
		if got, want := isMessageKey(c), messageKey.MatchString(c); got != want {
			t.Errorf("isMessageKey(%q) = %v, want %v", c, got, want)
		}
	}
}
