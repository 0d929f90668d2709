package vars

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilwiki/vigil/rules/textfunc"
)

// This file computes line diffs exactly as MediaWiki's DiffEngine (the
// wikidiff LCS with a middle-snake search, GNU diff's boundary shifting
// and a heuristic for very large inputs) and formats them as its
// UnifiedDiffFormatter does, because AbuseFilter's edit_diff, added_lines
// and removed_lines come from there: when several minimal diffs exist, the
// lines they report depend on the algorithm's choices.

// opKind is the kind of a diff operation.
type opKind uint8

const (
	opCopy opKind = iota
	opDelete
	opAdd
	opChange
)

type diffOp struct {
	kind    opKind
	orig    []string // lines of the old text (copy, delete, change)
	closing []string // lines of the new text (copy, add, change)
}

// diffEngine holds the state of one diff, as DiffEngine's fields do.
type diffEngine struct {
	from, to         []string // the lines left after the common prefix and suffix, and only shared ones
	removed, added   []bool
	maxDifferences   int
	tooLong          int
	powLimit         float64
	v                [2][]int
	snake            [3]int
	heuristicApplied bool
}

// diffLines returns MediaWiki's diff of two line lists.
func diffLines(from, to []string) []diffOp {
	e := &diffEngine{tooLong: 2000000, powLimit: 1.45}
	removed, added := e.diffInternal(from, to)
	shiftBoundaries(from, removed, added)
	shiftBoundaries(to, added, removed)

	// Each run of lines is a piece of from or to (capped, so that an
	// append could not write into them): a page's unchanged lines are
	// not copied. Most edits are a change between two copies.
	edits := make([]diffOp, 0, 4)
	xi, yi := 0, 0
	for xi < len(from) || yi < len(to) {
		x0 := xi
		for xi < len(from) && yi < len(to) && !removed[xi] && !added[yi] {
			xi++
			yi++
		}
		if xi > x0 {
			copied := from[x0:xi:xi]
			edits = append(edits, diffOp{kind: opCopy, orig: copied, closing: copied})
		}
		x0, y0 := xi, yi
		for xi < len(from) && removed[xi] {
			xi++
		}
		for yi < len(to) && added[yi] {
			yi++
		}
		deleted, addedLines := from[x0:xi:xi], to[y0:yi:yi]
		switch {
		case len(deleted) > 0 && len(addedLines) > 0:
			edits = append(edits, diffOp{kind: opChange, orig: deleted, closing: addedLines})
		case len(deleted) > 0:
			edits = append(edits, diffOp{kind: opDelete, orig: deleted})
		case len(addedLines) > 0:
			edits = append(edits, diffOp{kind: opAdd, closing: addedLines})
		}
	}
	return edits
}

func (e *diffEngine) diffInternal(from, to []string) (removed, added []bool) {
	m, n := len(from), len(to)
	removed, added = trueFlags(m, n)
	// Skip the common prefix and suffix.
	i := 0
	for i < m && i < n && from[i] == to[i] {
		removed[i], added[i] = false, false
		i++
	}
	j := 1
	for i+j <= m && i+j <= n && from[m-j] == to[n-j] {
		removed[m-j], added[n-j] = false, false
		j++
	}
	fromRest, toRest := from[i:m-j+1], to[i:n-j+1]
	// Keep only lines that occur on both sides.
	newFromIndex, newToIndex := e.sharedLines(fromRest, toRest, i)
	em, en := len(e.from), len(e.to)
	e.removed, e.added = trueFlags(em, en)
	if em > 0 && en > 0 {
		e.maxDifferences = int(math.Ceil(float64(em+en) / 2.0))
		if em*en > e.tooLong {
			e.maxDifferences = int(math.Floor(math.Pow(float64(e.maxDifferences), e.powLimit-1.0)))
		}
		limit := min(em, en)
		forward := 0
		for forward < limit && e.from[forward] == e.to[forward] {
			e.removed[forward], e.added[forward] = false, false
			forward++
		}
		back1, back2 := em-1, en-1
		for back1 >= forward && back2 >= forward && e.from[back1] == e.to[back2] {
			e.removed[back1], e.added[back2] = false, false
			back1--
			back2--
		}
		// One allocation; a vector that grows (see set) leaves it.
		vs := make([]int, 2*(em+en+3))
		e.v[0], e.v[1] = vs[:em+en+3:em+en+3], vs[em+en+3:]
		e.lcs(forward, back1, forward, back2)
	}
	for k, r := range e.removed {
		if !r {
			removed[newFromIndex[k]] = false
		}
	}
	for k, a := range e.added {
		if !a {
			added[newToIndex[k]] = false
		}
	}
	return removed, added
}

// trueFlags returns two slices of m and n flags, all true, in one
// allocation (as the V vectors below): an edit of a short text spent as
// long allocating as diffing.
func trueFlags(m, n int) (a, b []bool) {
	flags := make([]bool, m+n)
	for k := range flags {
		flags[k] = true
	}
	return flags[:m:m], flags[m:]
}

// maxScanPairs bounds the line pairs that sharedLines compares one by one
// rather than through a map: most edits change a line or two, and hashing
// their lines cost more than comparing them.
const maxScanPairs = 64

// sharedLines sets e.from and e.to to the lines of fromRest and toRest
// that occur on both sides, in order, and returns where each of them is
// in the whole texts (fromRest and toRest begin at line offset).
func (e *diffEngine) sharedLines(fromRest, toRest []string, offset int) (newFromIndex, newToIndex []int) {
	// inFrom tells whether a line of toRest is in fromRest; inTo, asked
	// after it, whether a line of fromRest is among those it found.
	var inFrom, inTo func(string) bool
	if len(fromRest)*len(toRest) <= maxScanPairs {
		inFrom = func(line string) bool { return slices.Contains(fromRest, line) }
		inTo = func(line string) bool { return slices.Contains(e.to, line) }
	} else {
		shared := make(map[string]bool, len(fromRest)) // found in toRest
		for _, line := range fromRest {
			shared[line] = false
		}
		inFrom = func(line string) bool {
			_, ok := shared[line]
			if ok {
				shared[line] = true
			}
			return ok
		}
		inTo = func(line string) bool { return shared[line] }
	}
	for k, line := range toRest {
		if inFrom(line) {
			e.to = append(e.to, line)
			newToIndex = append(newToIndex, offset+k)
		}
	}
	if len(e.to) == 0 {
		return nil, nil
	}
	for k, line := range fromRest {
		if inTo(line) {
			e.from = append(e.from, line)
			newFromIndex = append(newFromIndex, offset+k)
		}
	}
	return newFromIndex, newToIndex
}

func (e *diffEngine) lcs(bottom1, top1, bottom2, top2 int) int {
	if bottom1 > top1 || bottom2 > top2 {
		return 0
	}
	d := e.middleSnake(bottom1, top1, bottom2, top2)
	startx, starty, length := e.snake[0], e.snake[1], e.snake[2]
	for i := 0; i < length; i++ {
		e.removed[startx+i], e.added[starty+i] = false, false
	}
	switch {
	case d > 1:
		return length + e.lcs(bottom1, startx-1, bottom2, starty-1) + e.lcs(startx+length, top1, starty+length, top2)
	case d == 1:
		// Only one edit: the rest of the shorter side is a common prefix.
		n := min(startx-bottom1, starty-bottom2)
		for i := 0; i < n; i++ {
			e.removed[bottom1+i], e.added[bottom2+i] = false, false
		}
		return n + length
	}
	return length
}

// at and set index a V vector, growing it like a PHP array would.
func (e *diffEngine) at(v, i int) int {
	if i < 0 || i >= len(e.v[v]) {
		return 0
	}
	return e.v[v][i]
}

func (e *diffEngine) set(v, i, x int) {
	if i < 0 {
		return
	}
	for i >= len(e.v[v]) {
		e.v[v] = append(e.v[v], 0)
	}
	e.v[v][i] = x
}

// middleSnake is find_middle_snake: it sets e.snake and returns the edit
// distance of the sub-problem (5 when it gave up and used the heuristic).
func (e *diffEngine) middleSnake(bottom1, top1, bottom2, top2 int) int {
	from, to := e.from, e.to
	b1m1, b2m1 := bottom1-1, bottom2-1
	N := top1 - b1m1
	M := top2 - b2m1
	delta := N - M
	maxAbsX, maxAbsY := N+bottom1, M+bottom2
	limit := min(e.maxDifferences, (N+M+1)/2)

	addForward, addBackward := M&1, N&1
	startForward, endForward := -M, N
	startBackward, endBackward := -N, M
	lm1, lp1 := limit-1, limit+1
	e.set(0, lp1, 0)
	e.set(1, lm1, N)

	forwardStep := func(d int, checkOverlap bool) (int, bool) {
		startDiag := max(addForward+startForward, -d)
		endDiag := min(endForward, d)
		addForward = 1 - addForward
		for k := startDiag; k <= endDiag; k += 2 {
			var x int
			if k == -d || k < d && e.at(0, lm1+k) < e.at(0, lp1+k) {
				x = e.at(0, lp1+k)
			} else {
				x = e.at(0, lm1+k) + 1
			}
			absx := x + bottom1
			absy := x - k + bottom2
			e.snake[0], e.snake[1] = absx, absy
			for absx < maxAbsX && absy < maxAbsY && from[absx] == to[absy] {
				absx++
				absy++
			}
			x = absx - bottom1
			e.snake[2] = absx - e.snake[0]
			e.set(0, limit+k, x)
			if checkOverlap && k >= delta-d+1 && k <= delta+d-1 && x >= e.at(1, limit+k-delta) {
				return 2*d - 1, true
			}
			if x >= N && endForward > k-1 {
				endForward = k - 1
			} else if absy-bottom2 >= M {
				startForward = k + 1
				addForward = 0
			}
		}
		return 0, false
	}
	backwardStep := func(d int, checkOverlap bool) (int, bool) {
		startDiag := max(addBackward+startBackward, -d)
		endDiag := min(endBackward, d)
		addBackward = 1 - addBackward
		for k := startDiag; k <= endDiag; k += 2 {
			var x int
			if k == d || k != -d && e.at(1, lm1+k) < e.at(1, lp1+k) {
				x = e.at(1, lm1+k)
			} else {
				x = e.at(1, lp1+k) - 1
			}
			y := x - k - delta
			e.snake[2] = 0
			for x > 0 && y > 0 && from[x+b1m1] == to[y+b2m1] {
				x--
				y--
				e.snake[2]++
			}
			e.set(1, limit+k, x)
			if checkOverlap && k >= -delta-d && k <= d-delta && x <= e.at(0, limit+k+delta) {
				e.snake[0], e.snake[1] = bottom1+x, bottom2+y
				return 2 * d, true
			}
			if x <= 0 {
				startBackward = k + 1
				addBackward = 0
			} else if y <= 0 && endBackward > k-1 {
				endBackward = k - 1
			}
		}
		return 0, false
	}
	odd := delta&1 != 0
	for d := 0; d <= limit; d++ {
		if r, ok := forwardStep(d, odd); ok {
			return r
		}
		if r, ok := backwardStep(d, !odd); ok {
			return r
		}
	}
	// Too expensive: take the furthest-reaching path found so far.
	x, y := e.mostProgress(M, N, limit)
	e.snake = [3]int{bottom1 + x, bottom2 + y, 0}
	e.heuristicApplied = true
	return 5
}

// mostProgress is findMostProgress, including PHP's reading of missing
// array entries as null.
func (e *diffEngine) mostProgress(M, N, limit int) (int, int) {
	delta := N - M
	var fStart, bStart int
	if M&1 == limit&1 {
		fStart = max(-M, -limit)
	} else {
		fStart = max(1-M, -limit)
	}
	fEnd := min(N, limit)
	if N&1 == limit&1 {
		bStart = max(-N, -limit)
	} else {
		bStart = max(1-N, -limit)
	}
	bEnd := -min(M, limit)
	size := int(math.Ceil(float64(max(fEnd-fStart, bEnd-bStart)) / 2))
	type progress struct{ x, y, p int }
	best := make(map[int]progress, size)
	for i := 0; i < size; i++ {
		best[i] = progress{}
	}
	num := 0
	// exceeds and equals compare with best[0].p, which PHP reads as null
	// (false) when the array is empty.
	exceeds := func(p int) bool {
		b, ok := best[0]
		if !ok {
			return p != 0
		}
		return p > b.p
	}
	equals := func(p int) bool {
		b, ok := best[0]
		if !ok {
			return p == 0
		}
		return p == b.p
	}
	for k := fStart; k <= fEnd; k += 2 {
		x := e.at(0, limit+k)
		y := x - k
		if x > N || y > M {
			continue
		}
		if p := x + y; exceeds(p) {
			num = 0
			best[0] = progress{x, y, p}
		} else if equals(p) {
			num++
			best[num] = progress{x, y, p}
		}
	}
	forward := true
	for k := bStart; k <= bEnd; k += 2 {
		x := e.at(1, limit+k)
		y := x - k - delta
		if x < 0 || y < 0 {
			continue
		}
		if p := N - x + M - y; exceeds(p) {
			num = 0
			forward = false
			best[0] = progress{x, y, p}
		} else if equals(p) && !forward {
			num++
			best[num] = progress{x, y, p}
		}
	}
	b := best[num/2]
	return b.x, b.y
}

// shiftBoundaries is GNU diff's shift_boundaries as DiffEngine ports it:
// it slides runs of changed lines so that they line up with changes on
// the other side or end where they look natural.
func shiftBoundaries(lines []string, changed, otherChanged []bool) {
	i, j := 0, 0
	n, otherLen := len(lines), len(otherChanged)
	for {
		// Scan forward to the start of a run of changes; keep j the
		// corresponding position in the other file.
		for j < otherLen && otherChanged[j] {
			j++
		}
		for i < n && !changed[i] {
			i++
			j++
			for j < otherLen && otherChanged[j] {
				j++
			}
		}
		if i == n {
			break
		}
		start := i
		for i++; i < n && changed[i]; i++ {
		}
		var runLength, corresponding int
		for {
			runLength = i - start
			// Slide the run back while the line before it equals its last
			// line, merging with earlier runs.
			for start > 0 && lines[start-1] == lines[i-1] {
				start--
				changed[start] = true
				i--
				changed[i] = false
				for start > 0 && changed[start-1] {
					start--
				}
				for j--; otherChanged[j]; j-- {
				}
			}
			// corresponding is the end of the run as far back as it can go
			// while lining up with a run of changes in the other file.
			corresponding = n
			if j < otherLen {
				corresponding = i
			}
			// Slide the run forward while its first line equals the line
			// after it, merging with later runs.
			for i < n && lines[start] == lines[i] {
				changed[start] = false
				start++
				changed[i] = true
				i++
				for i < n && changed[i] {
					i++
				}
				j++
				if j < otherLen && otherChanged[j] {
					corresponding = i
					for j < otherLen && otherChanged[j] {
						j++
					}
				}
			}
			if runLength == i-start {
				break
			}
		}
		// Move the run back to line up with a run in the other file.
		for corresponding < i {
			start--
			changed[start] = true
			i--
			changed[i] = false
			for j--; otherChanged[j]; j-- {
			}
		}
	}
}

// unifiedDiff formats edits as UnifiedDiffFormatter does: hunks with two
// lines of context, "@@ -x,n +y,m @@" headers, lines prefixed " ", "-", "+".
// skipped common lines come before the edits (see EditDiff).
func unifiedDiff(edits []diffOp, skipped int) string {
	const nlead, ntrail = 2, 2
	var b strings.Builder
	b.Grow(unifiedSize(edits, nlead+ntrail))
	writeLines := func(lines []string, prefix byte) {
		for _, l := range lines {
			b.WriteByte(prefix)
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	writeBlock := func(xbeg, xlen, ybeg, ylen int, block []diffOp) {
		var head [64]byte
		h := append(head[:0], "@@ -"...)
		h = append(strconv.AppendInt(h, int64(xbeg), 10), ',')
		h = append(strconv.AppendInt(h, int64(xlen), 10), " +"...)
		h = append(strconv.AppendInt(h, int64(ybeg), 10), ',')
		h = append(strconv.AppendInt(h, int64(ylen), 10), " @@\n"...)
		b.Write(h)
		for _, op := range block {
			switch op.kind {
			case opCopy:
				writeLines(op.orig, ' ')
			case opAdd:
				writeLines(op.closing, '+')
			case opDelete:
				writeLines(op.orig, '-')
			case opChange:
				writeLines(op.orig, '-')
				writeLines(op.closing, '+')
			}
		}
	}
	xi, yi := 1+skipped, 1+skipped
	block := make([]diffOp, 0, 4) // a hunk's operations, written at its end
	inBlock := false
	var context []string
	x0, y0 := 0, 0
	for _, op := range edits {
		if op.kind == opCopy {
			if inBlock {
				if len(op.orig) <= nlead+ntrail {
					block = append(block, op)
				} else {
					block = append(block, diffOp{kind: opCopy, orig: op.orig[:ntrail], closing: op.orig[:ntrail]})
					writeBlock(x0, ntrail+xi-x0, y0, ntrail+yi-y0, block)
					block, inBlock = block[:0], false
				}
			}
			context = op.orig
		} else {
			if !inBlock {
				if len(context) > nlead {
					context = context[len(context)-nlead:]
				}
				x0, y0 = xi-len(context), yi-len(context)
				block, inBlock = block[:0], true
				if len(context) > 0 {
					block = append(block, diffOp{kind: opCopy, orig: context, closing: context})
				}
			}
			block = append(block, op)
		}
		xi += len(op.orig)
		yi += len(op.closing)
	}
	if inBlock {
		writeBlock(x0, xi-x0, y0, yi-y0, block)
	}
	return b.String()
}

// unifiedSize bounds the length of unifiedDiff's text, so that it is
// written without growing: every changed line, at most context lines of
// each unchanged run, and a header per run.
func unifiedSize(edits []diffOp, context int) int {
	lines := func(ls []string) int {
		n := 0
		for _, l := range ls {
			n += len(l) + 2 // the prefix and the newline
		}
		return n
	}
	n := 0
	for _, op := range edits {
		if op.kind == opCopy && len(op.orig) > context {
			n += lines(op.orig[:context/2]) + lines(op.orig[len(op.orig)-context/2:]) + 48
			continue
		}
		n += lines(op.orig) + lines(op.closing)
		if op.kind == opCopy {
			n -= lines(op.closing) // one copy of its lines is written
		}
	}
	return n + 48
}

// EditDiff is AbuseFilter's edit_diff: the unified diff of two texts split
// on "\n" (an empty text has no lines).
//
// An edit changes a few lines of a page: the lines before and after the
// change, found as the texts' common bytes, are left out of the diff but
// for diffMargin on each side. The result is the whole texts' diff: the
// algorithm skips common leading and trailing lines first anyway, and
// only boundary shifting and the hunks' context look beyond the changed
// lines, never past the margin unless the changes reach into it, in
// which case the whole texts are diffed. Splitting and comparing every
// line of a 30 KB page twice was most of the diff's time.
func EditDiff(oldText, newText string) string {
	if oldText == newText {
		return ""
	}
	start, oldEnd, newEnd := commonLines(oldText, newText, diffMargin)
	if start > 0 || oldEnd < len(oldText) {
		edits := diffLines(strings.Split(oldText[start:oldEnd], "\n"), strings.Split(newText[start:newEnd], "\n"))
		if marginsKept(edits, start > 0, oldEnd < len(oldText)) {
			return unifiedDiff(edits, strings.Count(oldText[:start], "\n"))
		}
	}
	return unifiedDiff(diffLines(splitLines(oldText), splitLines(newText)), 0)
}

// diffMargin is how many common lines EditDiff keeps on each side of an
// edit's changes: at least the two lines of context before a hunk, and
// five after it (unifiedDiff ends a hunk on an unchanged run of more than
// four lines).
const diffMargin = 5

// commonLines finds where two different texts' common start and end lines
// begin and end, keeping margin of them on each side: the texts'
// first start bytes are the same whole lines, as are oldText[oldEnd:] and
// newText[newEnd:], each beginning with the "\n" that ends the last line
// kept; otherwise start is 0, or oldEnd and newEnd the texts' lengths.
// start is at most oldEnd and newEnd.
func commonLines(oldText, newText string, margin int) (start, oldEnd, newEnd int) {
	prefix, suffix := textfunc.CommonAffixes(oldText, newText)
	// The last "\n" among the common first bytes ends a common line; margin
	// more before it leave margin common lines in the middle.
	cut := prefix
	for range margin + 1 {
		if cut = strings.LastIndexByte(oldText[:cut], '\n'); cut < 0 {
			break
		}
	}
	if cut >= 0 {
		start = cut + 1
	}
	// Every "\n" among the common last bytes is the same in both texts;
	// after the first, whole common lines follow.
	oldEnd, newEnd = len(oldText), len(newText)
	from := len(oldText) - suffix
	end := from - 1
	for range margin + 1 {
		i := strings.IndexByte(oldText[end+1:], '\n')
		if i < 0 {
			return start, oldEnd, newEnd
		}
		end += 1 + i
	}
	return start, end, end + len(newText) - len(oldText)
}

// marginsKept reports whether a diff of the texts' middle is the whole
// texts' diff: no change reached the first line kept before it (boundary
// shifting might have gone on into the lines left out) or the last lines
// kept after it, and the hunks' context is all there.
func marginsKept(edits []diffOp, cutStart, cutEnd bool) bool {
	if len(edits) == 0 {
		return false
	}
	first, last := edits[0], edits[len(edits)-1]
	if cutStart && (first.kind != opCopy || len(first.orig) < 2) {
		return false
	}
	return !cutEnd || last.kind == opCopy && len(last.orig) >= diffMargin
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// DiffSplit returns the lines of a unified diff that start with prefix,
// without it: AbuseFilter's added_lines ("+") and removed_lines ("-").
func DiffSplit(diff string, prefix byte) []string {
	var out []string
	for _, line := range strings.Split(diff, "\n") {
		if line != "" && line[0] == prefix {
			out = append(out, line[1:])
		}
	}
	return out
}
