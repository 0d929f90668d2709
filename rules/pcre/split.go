package pcre

import "strings"

// For a yes/no match, a pattern whose top level is an alternation matches
// when any one alternative matches somewhere: which one PCRE would prefer
// does not matter. So the alternatives a DFA can run are run together in
// one DFA pass, and only the others go to the backtracker, each after its
// own literal and relaxed-DFA checks. Real filters are often long lists
// of words with a few lookarounds or backreferences among them.

// altSplit is a pattern split into alternatives for Match.
type altSplit struct {
	dfa  *dfa      // the DFA-compatible alternatives, or nil
	subs []*Regexp // each other alternative
}

// maxSplitAlternatives bounds the work of splitting.
const maxSplitAlternatives = 256

// splitAlternatives splits re, or returns nil when its top level is not an
// alternation or when alternatives can interact (recursion, conditions on
// groups, backtracking verbs).
func splitAlternatives(re *Regexp) *altSplit {
	if interacts(re.root) {
		return nil
	}
	alts := topAlternatives(re.root)
	if len(alts) < 2 || len(alts) > maxSplitAlternatives {
		return nil
	}
	sp := &altSplit{}
	var exact []*node
	for _, a := range alts {
		if dfaCompatible(a) {
			exact = append(exact, a)
			continue
		}
		sub := &Regexp{source: re.source, root: a, ncap: re.ncap}
		sub.anchored = re.anchored || startsAnchored(a)
		sub.firstBytes = firstByteSet(a)
		sub.minLen = minLength(a)
		sub.lits = extractLiterals(a)
		sub.unit = unitOf(a)
		sp.subs = append(sp.subs, sub)
	}
	if len(exact) > 0 {
		if sp.dfa = newDFA(&node{op: opAlt, subs: exact}); sp.dfa == nil {
			return nil
		}
	}
	return sp
}

// topAlternatives returns the alternatives of n's top-level alternation:
// through groups, and with a prefix and suffix that hold no groups
// distributed over them (\b(a|b)\b is \ba\b|\bb\b).
func topAlternatives(n *node) []*node {
	switch n.op {
	case opAlt:
		return n.subs
	case opGroup:
		alts := topAlternatives(n.sub())
		if n.cap == 0 {
			return alts
		}
		// Each alternative keeps the capture, for backreferences to it.
		out := make([]*node, len(alts))
		for i, a := range alts {
			g := *n
			g.subs = []*node{a}
			out[i] = &g
		}
		return out
	case opConcat:
		at := -1
		for i, s := range n.subs {
			if len(topAlternatives(s)) > 0 {
				if at >= 0 {
					return nil // two alternations: distributing would multiply
				}
				at = i
			} else if hasGroup(s) {
				return nil
			}
		}
		if at < 0 {
			return nil
		}
		inner := topAlternatives(n.subs[at])
		out := make([]*node, len(inner))
		for i, a := range inner {
			subs := append(append(append([]*node{}, n.subs[:at]...), a), n.subs[at+1:]...)
			out[i] = &node{op: opConcat, subs: subs}
		}
		return out
	}
	return nil
}

func hasGroup(n *node) bool {
	if n == nil {
		return false
	}
	if n.op == opGroup && n.cap > 0 {
		return true
	}
	for _, s := range n.subs {
		if hasGroup(s) {
			return true
		}
	}
	return hasGroup(n.condLook)
}

// interacts reports constructs through which one alternative can affect
// another: recursion, conditions, and verbs other than (*FAIL).
func interacts(n *node) bool {
	if n == nil {
		return false
	}
	switch n.op {
	case opRecurse, opCond:
		return true
	case opVerb:
		if n.verb != verbFail {
			return true
		}
	}
	for _, s := range n.subs {
		if interacts(s) {
			return true
		}
	}
	return interacts(n.condLook)
}

// matchSplit is Match for a split pattern; s is valid UTF-8.
func (sp *altSplit) match(s string, lim Limits) (bool, error) {
	if sp.dfa != nil && sp.dfa.match(s) {
		return true, nil
	}
	folded, haveFolded := "", false
	for _, sub := range sp.subs {
		if len(s) < sub.minLen {
			continue
		}
		if any := sub.lits.Any; any != nil {
			subject := s
			if sub.lits.Fold {
				if !haveFolded {
					folded, haveFolded = FoldString(s), true
				}
				subject = folded
			}
			found := false
			for _, l := range any {
				if strings.Contains(subject, l) {
					found = true
					break
				}
			}
			if !found {
				continue
			}
		}
		ok, err := sub.MatchValid(s, lim)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}
