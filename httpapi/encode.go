package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/rules/validutf8"
)

// MaxBodyBytes bounds a request body: two 8 MiB wikitexts and the rest.
const MaxBodyBytes = 20 << 20

// bodies holds request-body buffers for reuse: an action's body is 5 to
// 100 KB, and decoding copies every string out of it.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decode reads a JSON body into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. Errors say where: the field, or the
// line and column of bad JSON. The body is JSON whatever the Content-Type
// says (callers authenticate with bearer tokens, not cookies, so a form
// post from a browser cannot act for anyone).
func decode(r *http.Request, v any) error {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodies.Put(buf)
		}
	}()
	// Read in one go, without regrowing; a larger claimed length is not
	// trusted with memory before its bytes arrive.
	if n := r.ContentLength; n > 0 && n <= 1<<20 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return vigil.Errorf(vigil.ETOOLARGE, "the body is larger than %d bytes", MaxBodyBytes)
		}
		return vigil.Errorf(vigil.EINVALID, "reading the body: %v", err)
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if err := checkBody(body); err != nil {
		return err
	}
	// Actions take the wikitexts' fast path (see decodeAction).
	if a, ok := v.(*vigil.Action); ok && reflect.ValueOf(a).Elem().IsZero() {
		if decodeAction(body, a) {
			return nil
		}
		*a = vigil.Action{}
	}
	// encoding/json v2's decoder: about 3.5 times faster than v1's on
	// actions with large wikitexts (it was a quarter of the service's
	// CPU), and stricter: names match exactly, duplicate names are refused.
	if err := jsonv2.Unmarshal(body, v, jsonv2.RejectUnknownMembers(true), fastStrings); err != nil {
		return jsonError(body, err)
	}
	return nil
}

// checkBody refuses a body that is not UTF-8 or is empty.
func checkBody(body []byte) error {
	// JSON is UTF-8; a decoder would quietly replace bad bytes.
	if !validutf8.Bytes(body) {
		i := 0
		for i < len(body) {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return vigil.Errorf(vigil.EINVALID, "the body is not valid UTF-8 at %s", position(body, i))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return vigil.Errorf(vigil.EINVALID, "the body is empty; a JSON object is expected")
	}
	return nil
}

// jsonError explains a decoding error with its place.
func jsonError(body []byte, err error) error {
	var se *jsontext.SyntacticError
	var te *jsonv2.SemanticError
	switch {
	case errors.As(err, &se):
		at := position(body, int(se.ByteOffset))
		switch {
		case errors.Is(se.Err, io.ErrUnexpectedEOF):
			return vigil.Errorf(vigil.EINVALID, "the JSON ends early, at %s", position(body, len(body)))
		case strings.Contains(se.Err.Error(), "after top-level value"):
			return vigil.Errorf(vigil.EINVALID, "unexpected data after the JSON value at %s", at)
		case strings.Contains(se.Err.Error(), "duplicate object member name"):
			return &vigil.Error{Code: vigil.EINVALID, Field: fieldOf(se.JSONPointer), Message: "given twice (at " + at + ")"}
		}
		return vigil.Errorf(vigil.EINVALID, "invalid JSON at %s: %v", at, se.Err)
	case errors.As(err, &te):
		field := fieldOf(te.JSONPointer)
		if errors.Is(te.Err, jsonv2.ErrUnknownName) {
			return &vigil.Error{Code: vigil.EINVALID, Field: field, Message: "unknown field"}
		}
		at := position(body, int(te.ByteOffset))
		var ve *vigil.Error
		switch {
		case errors.As(te.Err, &ve):
			return ve
		case te.GoType != nil && te.JSONKind != 0:
			return &vigil.Error{Code: vigil.EINVALID, Field: field,
				Message: fmt.Sprintf("expected %s, found a JSON %s (at %s)", goTypeName(te.GoType), kindName(te.JSONKind), at)}
		case te.Err != nil:
			return &vigil.Error{Code: vigil.EINVALID, Field: field, Message: fmt.Sprintf("%v (at %s)", te.Err, at)}
		}
		return &vigil.Error{Code: vigil.EINVALID, Field: field, Message: "invalid value (at " + at + ")"}
	}
	var ve *vigil.Error
	if errors.As(err, &ve) {
		return ve
	}
	return vigil.Errorf(vigil.EINVALID, "invalid JSON: %v", err)
}

// fieldOf turns a JSON pointer (/performer/edit_count) into the field name
// errors use (performer.edit_count); "(body)" for the whole body.
func fieldOf(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	if len(parts) == 0 {
		return "(body)"
	}
	return strings.Join(parts, ".")
}

func goTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "a time (RFC 3339)"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return "object"
	case t.Kind() == reflect.Slice:
		return "array"
	}
	return t.String()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return k.String()
}

// position is "line L, column C" of a byte offset.
func position(body []byte, offset int) string {
	offset = min(max(offset, 0), len(body))
	line := 1 + bytes.Count(body[:offset], []byte("\n"))
	col := offset - bytes.LastIndexByte(body[:offset], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// encode writes v as JSON with the status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// Answers hold wikitext with < and > unescaped: never to be sniffed as
	// HTML by a browser.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// errorBody is the JSON of an error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

var statusOf = map[string]int{
	vigil.EINVALID:      http.StatusBadRequest,
	vigil.ENOTFOUND:     http.StatusNotFound,
	vigil.ECONFLICT:     http.StatusConflict,
	vigil.EUNAUTHORIZED: http.StatusUnauthorized,
	vigil.EFORBIDDEN:    http.StatusForbidden,
	vigil.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	vigil.EUNAVAILABLE:  http.StatusServiceUnavailable,
	vigil.EINTERNAL:     http.StatusInternalServerError,
}

// writeError answers with err's code and safe message; internal errors
// are logged, never shown.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := vigil.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, vigil.ErrorMessage(err)
	var ve *vigil.Error
	if errors.As(err, &ve) {
		body.Error.Field = ve.Field
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	encode(w, status, body)
}
