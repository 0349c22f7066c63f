package resetflow

import (
	"errors"
	"fmt"
)

// ErrorKind classifies backend failures so the engine can pick a safe sentence for the user.
type ErrorKind string

const (
	KindNotFound    ErrorKind = "not_found"
	KindForbidden   ErrorKind = "forbidden"
	KindThrottled   ErrorKind = "throttled"
	KindUnavailable ErrorKind = "unavailable"
	KindBadRequest  ErrorKind = "bad_request"
	KindAmbiguous   ErrorKind = "ambiguous" // a write may or may not have happened
	KindInternal    ErrorKind = "internal"
)

// Error is a backend failure with a kind. Code and RequestID are for the log and
// the helpdesk; the user only ever reads the catalog sentence for the kind.
type Error struct {
	Kind      ErrorKind
	Op        string
	Code      string // the backend's error code, e.g. Graph's "ResourceNotFound"
	RequestID string
	Err       error
}

func (e *Error) Error() string {
	s := e.Op + ": " + string(e.Kind)
	if e.Code != "" {
		s += " code=" + e.Code
	}
	if e.RequestID != "" {
		s += " request-id=" + e.RequestID
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Detail is what the helpdesk may see: kind, code and request id.
func (e *Error) Detail() string {
	s := string(e.Kind)
	if e.Code != "" {
		s += " code=" + e.Code
	}
	if e.RequestID != "" {
		s += " request-id=" + e.RequestID
	}
	return s
}

// KindOf returns the kind of err, KindInternal when it has none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// errorDetail returns the helpdesk-safe description of err.
func errorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail()
	}
	return fmt.Sprintf("%s: %T", KindInternal, err)
}
