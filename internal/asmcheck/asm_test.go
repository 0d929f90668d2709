package asmcheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	ymm    = regexp.MustCompile(`\bY([0-9]|1[0-5])\b`)
	vector = regexp.MustCompile(`\b[XY]([0-9]|1[0-5])\b`)
)

// insn is one line of a function's body: an instruction or a label.
type insn struct {
	line  int
	text  string
	label bool
}

// functions splits assembly source into the bodies of its TEXT symbols,
// comments and blank lines left out.
func functions(src string) [][]insn {
	var fns [][]insn
	for i, line := range strings.Split(src, "\n") {
		text, _, _ := strings.Cut(line, "//")
		text = strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(text, "TEXT"):
			fns = append(fns, nil)
		case text == "" || len(fns) == 0:
		default:
			fns[len(fns)-1] = append(fns[len(fns)-1], insn{i + 1, text, strings.HasSuffix(text, ":")})
		}
	}
	return fns
}

// ymmFunctions returns the functions of src that use YMM registers: only
// there do legacy-SSE instructions and returns pay for the upper halves.
func ymmFunctions(src string) [][]insn {
	return slices.DeleteFunc(functions(src), func(fn []insn) bool {
		return !slices.ContainsFunc(fn, func(in insn) bool { return ymm.MatchString(in.text) })
	})
}

func (in insn) String() string { return fmt.Sprintf("%d: %s", in.line, in.text) }

// mixed returns, as "line: instruction", the legacy-SSE instructions on
// vector registers in the functions of src that also use YMM registers.
func mixed(src string) []string {
	var bad []string
	for _, fn := range ymmFunctions(src) {
		for _, in := range fn {
			if !in.label && vector.MatchString(in.text) && !strings.HasPrefix(in.text, "V") {
				bad = append(bad, in.String())
			}
		}
	}
	return bad
}

// dirtyReturns returns the RETs of src's functions that may be reached
// with the upper halves of the YMM registers dirty: after a YMM
// instruction or any label of a function that uses them (a jump may come
// from anywhere in it), without a VZEROUPPER in between. The caller's SSE
// code would pay the transition.
func dirtyReturns(src string) []string {
	var bad []string
	for _, fn := range ymmFunctions(src) {
		dirty := false
		for _, in := range fn {
			switch {
			case in.label || ymm.MatchString(in.text):
				dirty = true
			case in.text == "VZEROUPPER" || in.text == "VZEROALL":
				dirty = false
			case strings.HasPrefix(in.text, "RET") && dirty:
				bad = append(bad, in.String())
			}
		}
	}
	return bad
}

func TestMixed(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"legacy MOVQ after a YMM broadcast", `TEXT ·f(SB), NOSPLIT, $0-8
	MOVQ $0x22, AX
	VMOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ AX, X2 // legacy SSE with dirty upper halves
	VZEROUPPER
	RET`, 1},
		{"VEX only", `TEXT ·f(SB), NOSPLIT, $0-8
	MOVQ $0x22, AX
	VMOVQ AX, X1
	VPBROADCASTB X1, Y1
	VZEROUPPER
	RET`, 0},
		{"SSE in a function without YMM", `TEXT ·g(SB), NOSPLIT, $0-8
	MOVQ AX, X0
	PCMPEQB X1, X0
	RET
TEXT ·h(SB), NOSPLIT, $0-8
	VPCMPEQB Y0, Y1, Y2
	VZEROUPPER
	RET`, 0},
		{"SSE and YMM in one function, apart", `TEXT ·f(SB), NOSPLIT, $0-8
loop:
	MOVOU (SI), X0
	VPCMPEQB Y0, Y1, Y2 // a comment naming X3
	RET`, 1},
	}
	for _, tt := range tests {
		if got := mixed(tt.src); len(got) != tt.want {
			t.Errorf("%s: flagged %q, want %d", tt.name, got, tt.want)
		}
	}
}

func TestDirtyReturns(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"VZEROUPPER before each RET", `TEXT ·f(SB), NOSPLIT, $0-8
loop:
	VPCMPEQB Y0, Y1, Y2
	JNZ found
	JMP loop
found:
	VZEROUPPER
	RET
none:
	MOVQ SI, ret+24(FP)
	VZEROUPPER
	RET`, nil},
		{"a RET without it", `TEXT ·f(SB), NOSPLIT, $0-8
	VPCMPEQB Y0, Y1, Y2
	MOVQ AX, ret+8(FP)
	RET`, []string{"4: RET"}},
		{"a label reached dirty", `TEXT ·f(SB), NOSPLIT, $0-8
	VPCMPEQB Y0, Y1, Y2
	JNZ done
	VZEROUPPER
	RET
done:
	RET`, []string{"7: RET"}},
		{"no YMM at all", `TEXT ·g(SB), NOSPLIT, $0-8
x:
	PCMPEQB X1, X0
	RET`, nil},
	}
	for _, tt := range tests {
		if got := dirtyReturns(tt.src); !slices.Equal(got, tt.want) {
			t.Errorf("%s: flagged %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestModuleAssembly checks every .s file of the module.
func TestModuleAssembly(t *testing.T) {
	root := filepath.Join("..", "..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".s") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, b := range mixed(string(src)) {
			t.Errorf("%s:%s: legacy-SSE instruction in a function that uses YMM registers (use the V form)", path, b)
		}
		for _, b := range dirtyReturns(string(src)) {
			t.Errorf("%s:%s: may return with the YMM registers' upper halves dirty (VZEROUPPER first)", path, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no assembly found: the walk did not start at the module's root")
	}
}
