package asmcheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	ymm    = regexp.MustCompile(`\bY([0-9]|1[0-5])\b`)
	vector = regexp.MustCompile(`\b[XY]([0-9]|1[0-5])\b`)
)

// mixed returns, as "line: instruction", the legacy-SSE instructions on
// vector registers in the functions of src that also use YMM registers.
func mixed(src string) []string {
	type insn struct {
		line int
		text string
	}
	var bad []string
	var fn []insn
	usesY := false
	flush := func() {
		for _, in := range fn {
			if usesY && vector.MatchString(in.text) && !strings.HasPrefix(in.text, "V") {
				bad = append(bad, fmt.Sprintf("%d: %s", in.line, in.text))
			}
		}
		fn, usesY = nil, false
	}
	for i, line := range strings.Split(src, "\n") {
		text, _, _ := strings.Cut(line, "//")
		text = strings.TrimSpace(text)
		if strings.HasPrefix(text, "TEXT") {
			flush()
			continue
		}
		if text == "" || strings.HasSuffix(text, ":") {
			continue
		}
		fn = append(fn, insn{i + 1, text})
		usesY = usesY || ymm.MatchString(text)
	}
	flush()
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
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no assembly found: the walk did not start at the module's root")
	}
}
