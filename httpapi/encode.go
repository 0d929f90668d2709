package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vigilwiki/vigil"
)

// MaxBodyBytes bounds a request body: two 8 MiB wikitexts and the rest.
const MaxBodyBytes = 20 << 20

// decode reads a JSON body into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. Errors say where: the field, or the
// line and column of bad JSON. The body is JSON whatever the Content-Type
// says (callers authenticate with bearer tokens, not cookies, so a form
// post from a browser cannot act for anyone).
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
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
	// JSON is UTF-8; Go's decoder would quietly replace bad bytes.
	if !utf8.Valid(body) {
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if dec.More() {
		return vigil.Errorf(vigil.EINVALID, "unexpected data after the JSON value at %s", position(body, int(dec.InputOffset())))
	}
	return nil
}

// jsonError explains a decoding error with its place.
func jsonError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte too.
		return vigil.Errorf(vigil.EINVALID, "invalid JSON at %s: %s", position(body, int(se.Offset)-1), se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return &vigil.Error{Code: vigil.EINVALID, Field: field,
			Message: fmt.Sprintf("expected %s, found a JSON %s (at %s)", te.Type, te.Value, position(body, int(te.Offset)))}
	case errors.Is(err, io.EOF):
		return vigil.Errorf(vigil.EINVALID, "the body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return vigil.Errorf(vigil.EINVALID, "the JSON ends early, at %s", position(body, len(body)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &vigil.Error{Code: vigil.EINVALID, Field: name, Message: "unknown field"}
	}
	var ve *vigil.Error
	if errors.As(err, &ve) {
		return ve
	}
	return vigil.Errorf(vigil.EINVALID, "invalid JSON: %v", err)
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
