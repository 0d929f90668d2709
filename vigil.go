// Package vigil holds Vigil's domain: the actions a wiki asks about, the
// filters that screen them, the verdicts, the abuse log, blocks, service
// tokens and the audit trail, and the interfaces of the stores that keep
// them. Implementations live beside their dependency: sqlite/ and
// postgres/ (over sqlstore/), screen/ (the screening engine), httpapi/
// (the HTTP API and its client). The rule language is rules/, which
// imports nothing of this.
package vigil

import (
	"errors"
	"fmt"
)

// Error codes. Each store and service method documents the codes it
// returns; anything else is EINTERNAL.
const (
	EINVALID      = "invalid"      // the input is wrong; Field says where
	ENOTFOUND     = "not_found"    // no such thing
	ECONFLICT     = "conflict"     // it exists already, or changed meanwhile
	EUNAUTHORIZED = "unauthorized" // no valid token
	EFORBIDDEN    = "forbidden"    // the token lacks the scope
	ETOOLARGE     = "too_large"    // the request body is too large
	EUNAVAILABLE  = "unavailable"  // a dependency is down; retry later
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is an application error: a code the API maps to a status, a message
// safe to show the caller, and the field it concerns, if any.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: EINTERNAL for errors that are not an
// *Error, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that is safe to show: internal
// details never leave the process.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
