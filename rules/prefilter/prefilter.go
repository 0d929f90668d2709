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
	firstOut int32   // premultiplied
	outAt    []int32 // state -> start of its outputs in out; outAt[state+1] ends them
	out      []int32 // literal ids
}

// maxLiteral bounds a literal's length; longer ones are cut, which keeps
// them necessary (a text holding the literal holds its prefix).
const maxLiteral = 32

// New builds the index of lits, which must be folded (pcre.FoldString) and
// not empty. Literal i of the index is lits[i].
func New(lits []string) *Index {
	ix := &Index{lits: lits}
	// Input classes: one per byte that occurs in a literal, with ASCII
	// letters folded to upper case.
	for _, l := range lits {
		for i := 0; i < len(l) && i < maxLiteral; i++ {
			if ix.classOf[l[i]] == 0 {
				ix.classes++
				ix.classOf[l[i]] = uint8(ix.classes)
			}
		}
	}
	ix.classes++ // class 0
	for c := 'a'; c <= 'z'; c++ {
		ix.classOf[c] = ix.classOf[c-'a'+'A']
	}
	// The trie.
	type trieNode struct {
		next map[uint8]int32
		out  []int32
	}
	nodes := []trieNode{{next: map[uint8]int32{}}}
	for id, l := range lits {
		st := int32(0)
		for i := 0; i < len(l) && i < maxLiteral; i++ {
			c := ix.classOf[l[i]]
			nx, ok := nodes[st].next[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, trieNode{next: map[uint8]int32{}})
				nodes[st].next[c] = nx
			}
			st = nx
		}
		nodes[st].out = append(nodes[st].out, int32(id))
	}
	// Breadth-first: failure links and the full transition table.
	n := len(nodes)
	ix.delta = make([]int32, n*ix.classes)
	fail := make([]int32, n)
	outs := make([][]int32, n)
	queue := []int32{0}
	for c := 0; c < ix.classes; c++ {
		if nx, ok := nodes[0].next[uint8(c)]; ok && c != 0 {
			ix.delta[c] = nx
			fail[nx] = 0
			queue = append(queue, nx)
		}
	}
	outs[0] = nodes[0].out
	for qi := 1; qi < len(queue); qi++ {
		st := queue[qi]
		outs[st] = append(append([]int32{}, nodes[st].out...), outs[fail[st]]...)
		for c := 0; c < ix.classes; c++ {
			nx, ok := nodes[st].next[uint8(c)]
			if ok && c != 0 {
				fail[nx] = ix.delta[int(fail[st])*ix.classes+c]
				ix.delta[int(st)*ix.classes+c] = nx
				queue = append(queue, nx)
			} else {
				ix.delta[int(st)*ix.classes+c] = ix.delta[int(fail[st])*ix.classes+c]
			}
		}
	}
	// Renumber: states without outputs first (the root stays 0, since a
	// literal is never empty), premultiply, and lay out the outputs.
	newID := make([]int32, n)
	order := make([]int32, 0, n)
	for st := 0; st < n; st++ {
		if len(outs[st]) == 0 {
			newID[st] = int32(len(order))
			order = append(order, int32(st))
		}
	}
	ix.firstOut = int32(len(order)) * int32(ix.classes)
	for st := 0; st < n; st++ {
		if len(outs[st]) > 0 {
			newID[st] = int32(len(order))
			order = append(order, int32(st))
		}
	}
	delta := make([]int32, len(ix.delta))
	ix.outAt = make([]int32, n+1)
	for i, st := range order {
		for c := 0; c < ix.classes; c++ {
			delta[i*ix.classes+c] = newID[ix.delta[int(st)*ix.classes+c]] * int32(ix.classes)
		}
		ix.outAt[i] = int32(len(ix.out))
		ix.out = append(ix.out, outs[st]...)
	}
	ix.outAt[n] = int32(len(ix.out))
	ix.delta = delta
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
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ix.scan(pcre.FoldString(text), found)
			return
		}
	}
	ix.scan(text, found)
}

func (ix *Index) scan(text string, found Set) {
	delta, classOf, firstOut := ix.delta, &ix.classOf, ix.firstOut
	st := int32(0)
	for i := 0; i < len(text); i++ {
		st = delta[st+int32(classOf[text[i]])]
		if st >= firstOut {
			k := st / int32(ix.classes)
			for _, id := range ix.out[ix.outAt[k]:ix.outAt[k+1]] {
				found[id>>6] |= 1 << (id & 63)
			}
		}
	}
}
