package conformance

import (
	"errors"
	"net/http"
	"sync"
)

// Transport is an http.RoundTripper that validates every request before it is sent and every
// response after it is received, against openapi/uploads.yaml. Put it under any Go client: the
// generated client (generated.WithHTTPClient), openai-go (option.WithHTTPClient), or your own.
//
// By default a violation fails the round trip: a request that breaks the spec is not sent (a
// multipart body is validated as it streams and its final bytes are withheld, see
// [Validator.ValidateRequest]); a response that breaks it is closed and not returned. The error
// is a *[Violation], which http.Client wraps in a *url.Error: get it back with errors.As.
// With Report set, violations are recorded there instead and traffic is left untouched.
//
// Memory: see [Validator]; a streamed part costs tens of KiB whatever its size.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Validator checks the traffic; nil means [DefaultValidator].
	Validator *Validator
	// Report, when non-nil, collects violations instead of failing round trips.
	Report *Report
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	v := t.Validator
	if v == nil {
		var err error
		if v, err = DefaultValidator(); err != nil {
			return nil, err
		}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}

	// RoundTrip must not modify the caller's request: validate and send a shallow copy.
	out := req.Clone(req.Context())
	enforce := t.Report == nil
	if err := v.validateRequest(out, enforce, t.Report.add); err != nil {
		if enforce {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
		t.Report.add(asViolation(err))
	}

	resp, err := base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if verr := v.ValidateResponse(out, resp); verr != nil {
		if enforce {
			_ = resp.Body.Close()
			return nil, verr
		}
		t.Report.add(asViolation(verr))
	}
	return resp, nil
}

func asViolation(err error) *Violation {
	var v *Violation
	if errors.As(err, &v) {
		return v
	}
	return &Violation{Messages: []string{err.Error()}}
}

// Report collects the violations a [Transport] saw. The zero value is ready to use and it is safe
// for concurrent use.
type Report struct {
	mu         sync.Mutex
	violations []*Violation
}

func (r *Report) add(v *Violation) {
	if r == nil || v == nil {
		return
	}
	r.mu.Lock()
	r.violations = append(r.violations, v)
	r.mu.Unlock()
}

// Violations returns the violations recorded so far, in the order they were seen.
func (r *Report) Violations() []*Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Violation(nil), r.violations...)
}

// Err returns every recorded violation joined into one error, or nil if there were none.
func (r *Report) Err() error {
	var errs []error
	for _, v := range r.Violations() {
		errs = append(errs, v)
	}
	return errors.Join(errs...)
}
