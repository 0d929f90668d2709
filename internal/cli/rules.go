package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
	"github.com/vigilwiki/vigil/rules/vars"
)

func newRulesCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, evaluate and benchmark rules in AbuseFilter's language",
		Args:  cobra.NoArgs, // an unknown subcommand is an error, not help
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRulesCheckCmd(), newRulesEvalCmd(), newRulesMatchCmd(), newRulesBenchCmd())
	return cmd
}

// maxLine bounds one line of JSONL input.
const maxLine = 64 << 20

// eachLine calls fn for every non-empty line of r, numbered from 1. A line
// longer than maxLine is reported to fn as an error and skipped.
func eachLine(r io.Reader, fn func(n int, line []byte, err error) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		var line []byte
		tooLong := false
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line)+len(chunk) > maxLine {
				tooLong = true
			} else {
				line = append(line, chunk...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(line) == 0 && !tooLong {
					return nil
				}
				break
			}
			if err != nil {
				return err
			}
			break
		}
		var lineErr error
		if tooLong {
			lineErr = fmt.Errorf("line is longer than %d bytes", maxLine)
		}
		if len(bytes.TrimSpace(line)) == 0 && !tooLong {
			continue
		}
		if err := fn(n, bytes.TrimRight(line, "\r\n"), lineErr); err != nil {
			return err
		}
	}
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, with errors that say where.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("invalid JSON at column %d: %v", syn.Offset, err)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return fmt.Errorf("field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	return nil
}

// decodeVars converts a JSON object of variables (AbuseFilter's names and
// JSON types) into values. Unknown variable names are refused.
func decodeVars(raw map[string]any) (map[string]value.Value, error) {
	out := make(map[string]value.Value, len(raw))
	for name, x := range raw {
		lower := syntax.Lower(name)
		canon := syntax.Canonical(name)
		if !syntax.IsVariable(canon) && !syntax.Disabled[lower] {
			return nil, fmt.Errorf("vars.%s: unknown variable", name)
		}
		v, ok := value.FromNative(x)
		if !ok {
			return nil, fmt.Errorf("vars.%s: a JSON object is not a rule-language value (use null, a boolean, a number, a string or an array)", name)
		}
		out[canon] = v
	}
	return out, nil
}

func typeName(v value.Value) string {
	if v.Kind() == value.Undefined {
		return "null"
	}
	return v.Kind().String()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// errorText renders a rule error for a terminal, with its position.
func errorText(src string, err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Format(src)
	}
	return err.Error()
}

func newRulesCheckCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check [FILE|-]",
		Short: "Check a rule's syntax as AbuseFilter does",
		Long: `Check reads one rule (from FILE, or standard input when FILE is "-" or absent)
and runs AbuseFilter's checks: the parser, the static checker, and the
evaluation of every branch that finds runtime errors such as division by zero or
an invalid regex. Errors print as "line:column: message (error-id)"; the exit
status is 1 when there is an error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readInput(cmd, args)
			if err != nil {
				return err
			}
			rerr, warnings := rules.CheckSyntax(src)
			if asJSON {
				out := map[string]any{"ok": rerr == nil, "error": nil, "warnings": []any{}}
				if rerr != nil {
					out["error"] = errorJSON(src, rerr)
				}
				ws := []any{}
				for _, w := range warnings {
					ws = append(ws, errorJSON(src, w))
				}
				out["warnings"] = ws
				if err := writeJSON(cmd.OutOrStdout(), out); err != nil {
					return err
				}
			} else {
				for _, w := range warnings {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: warning: %s (%s)\n", syntax.PositionOf(src, w.Pos), w.Msg, w.Code)
				}
				if rerr != nil {
					fmt.Fprintln(cmd.OutOrStdout(), rerr.Format(src))
				}
			}
			if rerr != nil {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func errorJSON(src string, e *syntax.Error) map[string]any {
	p := syntax.PositionOf(src, e.Pos)
	return map[string]any{"id": e.Code, "message": e.Msg, "line": p.Line, "column": p.Column, "character": e.Offset}
}

func readInput(cmd *cobra.Command, args []string) (string, error) {
	var r io.Reader = cmd.InOrStdin()
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, syntax.MaxSourceSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > syntax.MaxSourceSize {
		return "", fmt.Errorf("the rule is longer than %d bytes", syntax.MaxSourceSize)
	}
	return string(b), nil
}

func newRulesEvalCmd() *cobra.Command {
	var jsonl bool
	var varsJSON string
	cmd := &cobra.Command{
		Use:   "eval 'EXPR' | eval --jsonl",
		Short: "Evaluate an expression and print its value and type",
		Long: `Eval evaluates one expression and prints its value (as JSON) and its type.

With --jsonl it reads lines {"expr": "...", "vars": {...}} (vars optional) from
standard input and writes one line each: {"value": ..., "type": "int|float|
string|bool|null|array", "error": null}, or {"value": null, "type": null,
"error": "<AbuseFilter error id>"}. Variables use AbuseFilter's names and JSON
types; lazy variables not given (added_lines, edit_diff, new_size, ...) are
derived from old_wikitext and new_wikitext.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jsonl {
				if len(args) != 0 {
					return errors.New("eval --jsonl reads expressions from standard input; give no argument")
				}
				return evalLines(cmd.InOrStdin(), cmd.OutOrStdout())
			}
			if len(args) != 1 {
				return errors.New("give an expression to evaluate, or --jsonl")
			}
			given := map[string]value.Value{}
			if varsJSON != "" {
				var raw map[string]any
				if err := decodeStrict([]byte(varsJSON), &raw); err != nil {
					return fmt.Errorf("--vars: %v", err)
				}
				var err error
				if given, err = decodeVars(raw); err != nil {
					return fmt.Errorf("--vars: %v", err)
				}
			}
			v, err := evalExpr(args[0], given)
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), errorText(args[0], err))
				return exitError{1}
			}
			b, _ := json.Marshal(v.Native())
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s)\n", b, typeName(v))
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonl, "jsonl", false, "read JSON lines from standard input")
	cmd.Flags().StringVar(&varsJSON, "vars", "", "variables as a JSON object")
	return cmd
}

func evalExpr(src string, given map[string]value.Value) (value.Value, error) {
	p, err := rules.Compile(src, rules.CompileOptions{})
	if err != nil {
		return value.UndefinedValue, err
	}
	v, _, err := p.Eval(vars.New(given), rules.EvalOptions{})
	return v, err
}

// evalOut is one line of eval --jsonl output. Message is set only for
// input that could not be read.
type evalOut struct {
	Value   any     `json:"value"`
	Type    *string `json:"type"`
	Error   *string `json:"error"`
	Message string  `json:"message,omitempty"`
}

// matchOut is one line of match --jsonl output.
type matchOut struct {
	Match   bool    `json:"match"`
	Error   *string `json:"error"`
	Message string  `json:"message,omitempty"`
}

func evalLines(r io.Reader, w io.Writer) error {
	bad := 0
	err := eachLine(r, func(n int, line []byte, lineErr error) error {
		var in struct {
			Expr *string        `json:"expr"`
			Vars map[string]any `json:"vars"`
		}
		if lineErr == nil {
			lineErr = decodeStrict(line, &in)
		}
		if lineErr == nil && in.Expr == nil {
			lineErr = errors.New(`field "expr" is required`)
		}
		var given map[string]value.Value
		if lineErr == nil {
			given, lineErr = decodeVars(in.Vars)
		}
		if lineErr != nil {
			bad++
			id := "invalidinput"
			return writeJSON(w, evalOut{Error: &id, Message: fmt.Sprintf("line %d: %v", n, lineErr)})
		}
		v, err := evalExpr(*in.Expr, given)
		if err != nil {
			id := errorID(err)
			return writeJSON(w, evalOut{Error: &id})
		}
		t := typeName(v)
		return writeJSON(w, evalOut{Value: v.Native(), Type: &t})
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		return exitError{1}
	}
	return nil
}

func errorID(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return syntax.ErrInternal
}

func newRulesMatchCmd() *cobra.Command {
	var jsonl bool
	cmd := &cobra.Command{
		Use:   "match --jsonl",
		Short: "Match rules against variable sets",
		Long: `Match reads lines {"rule": "...", "vars": {...}} from standard input and writes
one line each: {"match": true|false, "error": null|"<AbuseFilter error id>"}.
Each rule runs alone on its variables, as AbuseFilter's abusefiltercheckmatch
does; lazy variables not given are derived from old_wikitext and new_wikitext.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !jsonl {
				return errors.New("match reads JSON lines: use --jsonl")
			}
			return matchLines(cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&jsonl, "jsonl", false, "read JSON lines from standard input")
	return cmd
}

func matchLines(r io.Reader, w io.Writer) error {
	bad := 0
	err := eachLine(r, func(n int, line []byte, lineErr error) error {
		var in struct {
			Rule *string        `json:"rule"`
			Vars map[string]any `json:"vars"`
		}
		if lineErr == nil {
			lineErr = decodeStrict(line, &in)
		}
		if lineErr == nil && in.Rule == nil {
			lineErr = errors.New(`field "rule" is required`)
		}
		var given map[string]value.Value
		if lineErr == nil {
			given, lineErr = decodeVars(in.Vars)
		}
		if lineErr != nil {
			bad++
			id := "invalidinput"
			return writeJSON(w, matchOut{Error: &id, Message: fmt.Sprintf("line %d: %v", n, lineErr)})
		}
		p, err := rules.Compile(*in.Rule, rules.CompileOptions{})
		if err != nil {
			id := errorID(err)
			return writeJSON(w, matchOut{Error: &id})
		}
		s := rules.NewState(vars.New(given), p.Scope(), rules.EvalOptions{})
		matched, err := p.Match(s)
		out := matchOut{Match: matched}
		if err != nil {
			id := errorID(err)
			out.Error = &id
		}
		return writeJSON(w, out)
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		return exitError{1}
	}
	return nil
}
