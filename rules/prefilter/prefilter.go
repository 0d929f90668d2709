// Package prefilter finds which of many literal strings occur in a text, in
// one pass (Aho-Corasick), so that rules whose regexes need a literal that
// is absent are decided without running them.
//
// Matching is case-insensitive in the sense of pcre.FoldString: literals
// are given folded, and a text is folded as it is scanned (ASCII) or
// before (other text). A literal found in the folded text may be absent
// from the text itself, never the reverse, which is what a prefilter
// needs.
package prefilter

import (
	"unicode/utf8"

	"github.com/vigilwiki/vigil/rules/pcre"
)

// Index is an automaton over a set of literals. It is immutable and safe
// for concurrent use.
type Index struct {
	lits    []string
	classes int
	classOf [256]uint8 // byte (folded for ASCII) -> input class; 0: no literal has it
	// delta[state*classes + class] is the next state, premultiplied by
	// classes. States are numbered so that those with outputs come last,
	// from firstOut on.
	delta    []int32
	firstOut int32 // premultiplied
	// A state's number is its offset divided by classes, an exact
	// division, done as a shift and a multiplication by the inverse of
	// classes' odd part (a hardware division took as long as the rest of a
	// byte's work, and most bytes end a literal).
	divShift uint8
	divInv   uint32
	outAt    []int32 // state -> start of its outputs in out; outAt[state+1] ends them
	out      []int32 // literal ids
}

// maxLiteral bounds a literal's length; longer ones are cut, which keeps
// them necessary (a text holding the literal holds its prefix).
const maxLiteral = 8

// New builds the index of lits, which must be folded (pcre.FoldString) and
// not empty. Literal i of the index is lits[i].
func New(lits []string) *Index {
	ix := &Index{lits: lits}
	// Input classes: one per byte that occurs in a literal, with ASCII
	// letters folded to upper case.
	maxStates := 1
	for _, l := range lits {
		for i := 0; i < len(l) && i < maxLiteral; i++ {
			if ix.classOf[l[i]] == 0 {
				ix.classes++
				ix.classOf[l[i]] = uint8(ix.classes)
			}
		}
		maxStates += min(len(l), maxLiteral)
	}
	ix.classes++ // class 0
	odd := uint32(ix.classes)
	for odd%2 == 0 {
		odd /= 2
		ix.divShift++
	}
	// Newton's iteration for the inverse modulo 2^32: each step doubles the
	// correct low bits, starting from 3 (odd*odd = 1 mod 8).
	ix.divInv = odd
	for range 4 {
		ix.divInv *= 2 - odd*ix.divInv
	}
	for c := 'a'; c <= 'z'; c++ {
		ix.classOf[c] = ix.classOf[c-'a'+'A']
	}
	// The trie: each state's children as a list through sibling, in
	// flat arrays sized for the worst case, one edge per literal byte.
	child := make([]int32, 1, maxStates)   // first child, 0: none
	sibling := make([]int32, 1, maxStates) // next child of the same parent
	class := make([]uint8, 1, maxStates)   // class of the edge into the state
	ends := make([]int32, 1, maxStates)    // first literal ending here, -1: none
	ends[0] = -1
	nextEnd := make([]int32, len(lits)) // further literals ending at the same state
	edge := func(st int32, c uint8) int32 {
		for k := child[st]; k != 0; k = sibling[k] {
			if class[k] == c {
				return k
			}
		}
		return -1
	}
	for id, l := range lits {
		st := int32(0)
		for i := 0; i < len(l) && i < maxLiteral; i++ {
			c := ix.classOf[l[i]]
			nx := edge(st, c)
			if nx < 0 {
				nx = int32(len(child))
				child = append(child, 0)
				sibling = append(sibling, child[st])
				class = append(class, c)
				ends = append(ends, -1)
				child[st] = nx
			}
			st = nx
		}
		nextEnd[id] = ends[st]
		ends[st] = int32(id)
	}
	n := len(child)
	// Failure links, breadth first: goto(s, c) follows the failure chain
	// until a state with an edge on c. A state has outputs when a literal
	// ends there or at a state on its failure chain.
	fail := make([]int32, n)
	hasOut := make([]bool, n)
	order := make([]int32, 0, n) // breadth-first
	order = append(order, 0)
	for qi := 0; qi < len(order); qi++ {
		st := order[qi]
		hasOut[st] = ends[st] >= 0 || hasOut[fail[st]]
		for k := child[st]; k != 0; k = sibling[k] {
			if st != 0 {
				f := fail[st]
				for {
					if to := edge(f, class[k]); to >= 0 {
						fail[k] = to
						break
					}
					if f == 0 {
						break
					}
					f = fail[f]
				}
			}
			order = append(order, k)
		}
	}
	// Number the states: without outputs first (the root is 0, since no
	// literal is empty), then with.
	newID := make([]int32, n)
	next := int32(0)
	for _, st := range order {
		if !hasOut[st] {
			newID[st] = next
			next++
		}
	}
	ix.firstOut = next * int32(ix.classes)
	byNew := make([]int32, n)
	for _, st := range order {
		if hasOut[st] {
			newID[st] = next
			next++
		}
		byNew[newID[st]] = st
	}
	// The table, breadth first, so that a state's failure row is filled
	// before its own: a row is its failure state's row with its own edges.
	cl := ix.classes
	ix.delta = make([]int32, n*cl)
	for _, st := range order {
		row := ix.delta[int(newID[st])*cl : int(newID[st]+1)*cl]
		if st != 0 {
			f := int(newID[fail[st]])
			copy(row, ix.delta[f*cl:(f+1)*cl])
		}
		for k := child[st]; k != 0; k = sibling[k] {
			row[class[k]] = newID[k] * int32(cl)
		}
	}
	// Outputs: a state's own literals, then its failure state's.
	ix.outAt = make([]int32, n+1)
	for i, st := range byNew {
		ix.outAt[i] = int32(len(ix.out))
		for s := st; s != 0; s = fail[s] {
			for id := ends[s]; id >= 0; id = nextEnd[id] {
				ix.out = append(ix.out, id)
			}
		}
	}
	ix.outAt[n] = int32(len(ix.out))
	return ix
}

// Len returns the number of literals.
func (ix *Index) Len() int { return len(ix.lits) }

// Set is a set of literal ids, as a bitset.
type Set []uint64

// Has reports whether literal id is in the set.
func (s Set) Has(id int32) bool { return s[id>>6]&(1<<(id&63)) != 0 }

// Words returns how many uint64 a Set for this index holds.
func (ix *Index) Words() int { return (len(ix.lits) + 63) / 64 }

// Scan adds to found (of ix.Words() words, cleared by the caller) every
// literal that occurs in the folded form of text.
func (ix *Index) Scan(text string, found Set) {
	st := int32(0)
	for i := 0; i < len(text); {
		// ASCII letters fold through classOf; other characters are folded
		// one by one and fed as their UTF-8 bytes, so no folded copy of the
		// text is made.
		if c := text[i]; c < utf8.RuneSelf {
			st = ix.step(st, c, found)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		var buf [utf8.UTFMax]byte
		for _, b := range utf8.AppendRune(buf[:0], pcre.FoldRune(r)) {
			st = ix.step(st, b, found)
		}
	}
}

// step feeds one byte.
func (ix *Index) step(st int32, c byte, found Set) int32 {
	st = ix.delta[st+int32(ix.classOf[c])]
	if st >= ix.firstOut {
		k := uint32(st) >> ix.divShift * ix.divInv
		for _, id := range ix.out[ix.outAt[k]:ix.outAt[k+1]] {
			found[id>>6] |= 1 << (id & 63)
		}
	}
	return st
}
