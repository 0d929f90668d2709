// Package syntax reads AbuseFilter's rule language: a scanner with positions,
// a recursive-descent parser with AbuseFilter's exact precedence and
// associativity, and the syntax tree it builds. It reports errors with
// AbuseFilter's error ids and AbuseFilter's character offsets.
package syntax

import "fmt"

// Pos is a byte offset into the source text.
type Pos int

// Token is the kind of a lexical token.
type Token uint8

const (
	EOF Token = iota

	// Punctuation.
	Comma     // ,
	LParen    // (
	RParen    // )
	LBrack    // [
	RBrack    // ]
	Semicolon // ;

	// Literals and names.
	String
	Int
	Float
	Identifier

	// Operators, in the tokenizer's longest-first order.
	opStart
	NotEqStrict // !==
	NotEq       // !=
	Not         // !
	Pow         // **
	Mul         // *
	Div         // /
	Add         // +
	Sub         // -
	Mod         // %
	And         // &
	Or          // |
	Xor         // ^
	ColonEq     // :=
	Quest       // ?
	Colon       // :
	LessEq      // <=
	Less        // <
	GreaterEq   // >=
	Greater     // >
	EqStrict    // ===
	Eq          // ==
	EqSingle    // =
	opEnd

	// Keywords (lowercase only).
	keywordStart
	In
	Like
	True
	False
	Null
	Contains
	Matches
	Rlike
	Irlike
	Regex
	If
	Then
	Else
	End
	keywordEnd
)

var tokenText = map[Token]string{
	EOF: "end of input", Comma: ",", LParen: "(", RParen: ")", LBrack: "[", RBrack: "]", Semicolon: ";",
	String: "string", Int: "integer", Float: "float", Identifier: "identifier",
	NotEqStrict: "!==", NotEq: "!=", Not: "!", Pow: "**", Mul: "*", Div: "/", Add: "+", Sub: "-", Mod: "%",
	And: "&", Or: "|", Xor: "^", ColonEq: ":=", Quest: "?", Colon: ":", LessEq: "<=", Less: "<",
	GreaterEq: ">=", Greater: ">", EqStrict: "===", Eq: "==", EqSingle: "=",
	In: "in", Like: "like", True: "true", False: "false", Null: "null", Contains: "contains",
	Matches: "matches", Rlike: "rlike", Irlike: "irlike", Regex: "regex",
	If: "if", Then: "then", Else: "else", End: "end",
}

func (t Token) String() string {
	if s, ok := tokenText[t]; ok {
		return s
	}
	return fmt.Sprintf("token(%d)", t)
}

// IsOperator reports whether t is an operator.
func (t Token) IsOperator() bool { return t > opStart && t < opEnd }

// IsKeyword reports whether t is a keyword.
func (t Token) IsKeyword() bool { return t > keywordStart && t < keywordEnd }

// IsKeywordOperator reports whether t is one of the binary keyword operators
// (in, like, matches, contains, rlike, irlike, regex).
func (t Token) IsKeywordOperator() bool {
	switch t {
	case In, Like, Matches, Contains, Rlike, Irlike, Regex:
		return true
	}
	return false
}

// IsEquality reports whether t is one of == === != !== =.
func (t Token) IsEquality() bool {
	switch t {
	case Eq, EqStrict, NotEq, NotEqStrict, EqSingle:
		return true
	}
	return false
}

// IsOrdering reports whether t is one of < > <= >=.
func (t Token) IsOrdering() bool {
	switch t {
	case Less, Greater, LessEq, GreaterEq:
		return true
	}
	return false
}

// afType is the name AbuseFilter gives a token's type in its error messages.
func (t Token) afType() string {
	switch {
	case t == EOF:
		return "T_NONE"
	case t == Comma:
		return "T_COMMA"
	case t == LParen || t == RParen:
		return "T_BRACE"
	case t == LBrack || t == RBrack:
		return "T_SQUARE_BRACKET"
	case t == Semicolon:
		return "T_STATEMENT_SEPARATOR"
	case t == String:
		return "T_STRING"
	case t == Int:
		return "T_INT"
	case t == Float:
		return "T_FLOAT"
	case t == Identifier:
		return "T_ID"
	case t.IsOperator():
		return "T_OP"
	case t.IsKeyword():
		return "T_KEYWORD"
	}
	return "T_NONE"
}

type operator struct {
	text string
	tok  Token
}

// operators in the order AbuseFilter's tokenizer tries them: a longer
// operator before its prefixes.
var operators = []operator{
	{"!==", NotEqStrict}, {"!=", NotEq}, {"!", Not},
	{"**", Pow}, {"*", Mul},
	{"/", Div}, {"+", Add}, {"-", Sub}, {"%", Mod},
	{"&", And}, {"|", Or}, {"^", Xor},
	{":=", ColonEq},
	{"?", Quest}, {":", Colon},
	{"<=", LessEq}, {"<", Less},
	{">=", GreaterEq}, {">", Greater},
	{"===", EqStrict}, {"==", Eq}, {"=", EqSingle},
}

var keywords = map[string]Token{
	"in": In, "like": Like, "true": True, "false": False, "null": Null, "contains": Contains,
	"matches": Matches, "rlike": Rlike, "irlike": Irlike, "regex": Regex,
	"if": If, "then": Then, "else": Else, "end": End,
}

// IsKeywordName reports whether name is one of the language's keywords.
func IsKeywordName(name string) bool {
	_, ok := keywords[name]
	return ok
}
