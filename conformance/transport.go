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
// is a *[Violation], which http.Client wraps in a *url.Error: get it back with errors.As. A body
// too large to validate (see [MaxJSONBodyBytes]) fails the same way.
// With Report set, violations are recorded there instead and traffic is left untouched: every
// body is passed on whole, and one too large to validate is recorded as [Unvalidated].
// In both modes a failure of the exchange itself (a reply the network cut short, a request body
// whose source failed) reaches the client as it would without the Transport, the bytes that
// arrived and then the error, and is no violation: a client's handling of network faults is
// tested as it is.
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
			if out.Body != nil {
				_ = out.Body.Close()
			}
			return nil, asViolationErr(err)
		}
		t.Report.record(err)
	}

	resp, err := base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if verr := v.validateResponse(out, resp); verr != nil {
		if enforce {
			_ = resp.Body.Close()
			return nil, asViolationErr(verr)
		}
		t.Report.record(verr)
	}
	return resp, nil
}

// Report collects what a [Transport] in Report mode saw: violations, and bodies it passed on
// without validating them. The zero value is ready to use and it is safe for concurrent use.
type Report struct {
	mu          sync.Mutex
	violations  []*Violation
	unvalidated []*Unvalidated
}

func (r *Report) add(v *Violation) {
	if r == nil || v == nil {
		return
	}
	r.mu.Lock()
	r.violations = append(r.violations, v)
	r.mu.Unlock()
}

// record files an error of the validator as a violation or as an unvalidated body.
func (r *Report) record(err error) {
	var u *Unvalidated
	if errors.As(err, &u) {
		r.mu.Lock()
		r.unvalidated = append(r.unvalidated, u)
		r.mu.Unlock()
		return
	}
	var v *Violation
	if !errors.As(err, &v) {
		v = &Violation{Messages: []string{err.Error()}}
	}
	r.add(v)
}

// Violations returns the violations recorded so far, in the order they were seen.
func (r *Report) Violations() []*Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Violation(nil), r.violations...)
}

// Unvalidated returns the exchanges whose body was passed on without being validated (too
// large to hold), in the order they were seen. They are not violations, but nothing says their
// bodies conform either.
func (r *Report) Unvalidated() []*Unvalidated {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Unvalidated(nil), r.unvalidated...)
}

// Err returns every recorded violation and every unvalidated body joined into one error, or nil
// if there were none: a contract test that checks Err is not passed by a body nobody checked.
func (r *Report) Err() error {
	var errs []error
	for _, v := range r.Violations() {
		errs = append(errs, v)
	}
	for _, u := range r.Unvalidated() {
		errs = append(errs, u)
	}
	return errors.Join(errs...)
}
