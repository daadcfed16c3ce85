package conformance

import (
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Direction says which half of an exchange broke the contract.
type Direction string

// The two directions of an exchange.
const (
	DirectionRequest  Direction = "request"
	DirectionResponse Direction = "response"
)

// Violation is a request or response that does not conform to openapi/uploads.yaml. It is the
// error [Validator] and [Transport] return; use errors.As to get it back from a client's error.
type Violation struct {
	// Operation is the spec's operationId (for example "createUpload"), or "" when the request
	// matches no operation.
	Operation string
	// Method and Path are the request's method and escaped URL path.
	Method, Path string
	// Direction says whether the request or the response is at fault.
	Direction Direction
	// Status is the response's status code (responses only).
	Status int
	// Messages name the field and what is wrong with it, one per problem found, for example
	// "/purpose: value is not one of the allowed values [...]".
	Messages []string
}

// Error reads like "createUpload request: /purpose: value is not one of the allowed values …".
func (v *Violation) Error() string {
	op := v.Operation
	if op == "" {
		op = v.Method + " " + v.Path
	}
	head := fmt.Sprintf("%s %s", op, v.Direction)
	if v.Direction == DirectionResponse && v.Status != 0 {
		head = fmt.Sprintf("%s %s %d", op, v.Direction, v.Status)
	}
	return head + ": " + strings.Join(v.Messages, "; ")
}

// Unvalidated is an exchange whose body the validator passed on without validating it: a
// JSON (or other non-multipart, non-binary) body larger than [MaxJSONBodyBytes], which it does
// not hold in memory. The body is sent or returned whole. [Transport] in Report mode records it
// in the [Report] (Report.Unvalidated); otherwise it is a *Violation. Route, parameters, headers
// and status were still validated.
type Unvalidated struct {
	// Operation, Method, Path, Direction and Status are as in [Violation].
	Operation    string
	Method, Path string
	Direction    Direction
	Status       int
	// Reason says why, for example "body: larger than 33554432 bytes, the most the validator
	// reads; passed on whole, not validated".
	Reason string
}

// Error reads like "listFiles response 200: body: larger than … not validated".
func (u *Unvalidated) Error() string {
	return u.violation().Error()
}

func (u *Unvalidated) violation() *Violation {
	return &Violation{Operation: u.Operation, Method: u.Method, Path: u.Path, Direction: u.Direction, Status: u.Status, Messages: []string{u.Reason}}
}

// asViolationErr turns an *Unvalidated into the *Violation the enforcing API returns.
func asViolationErr(err error) error {
	var u *Unvalidated
	if errors.As(err, &u) {
		return u.violation()
	}
	return err
}

// tooLarge is the reason of an Unvalidated body.
func tooLarge() string {
	return fmt.Sprintf("body: larger than %d bytes, the most the validator reads; passed on whole, not validated", MaxJSONBodyBytes)
}

// messages flattens kin-openapi's errors into one line per problem, each naming its field.
func messages(err error) []string {
	var out []string
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, sub := range e {
				walk(prefix, sub)
			}
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				p := joinPrefix(prefix, fmt.Sprintf("%s parameter %s", e.Parameter.In, e.Parameter.Name))
				if e.Err != nil {
					walk(p, e.Err)
				} else {
					out = append(out, joinPrefix(p, e.Reason))
				}
			case e.Err != nil && (e.Reason == "" || isSchemaMismatch(e.Reason)):
				walk(prefix, e.Err)
			case e.Err != nil:
				walk(joinPrefix(prefix, "body: "+e.Reason), e.Err)
			default:
				out = append(out, joinPrefix(prefix, "body: "+e.Reason))
			}
		case *openapi3filter.ResponseError:
			if e.Err != nil && isSchemaMismatch(e.Reason) {
				walk(prefix, e.Err)
			} else if e.Err != nil {
				walk(joinPrefix(prefix, e.Reason), e.Err)
			} else {
				out = append(out, joinPrefix(prefix, e.Reason))
			}
		case *openapi3filter.SecurityRequirementsError:
			out = append(out, joinPrefix(prefix, "security: "+errNoBearer.Error()))
		case *openapi3.SchemaError:
			where := prefix
			if ptr := e.JSONPointer(); len(ptr) > 0 {
				where = joinPrefix(prefix, "/"+strings.Join(ptr, "/"))
			}
			out = append(out, joinPrefix(where, e.Reason))
		case *openapi3filter.ParseError:
			out = append(out, joinPrefix(prefix, e.Error()))
		default:
			out = append(out, joinPrefix(prefix, err.Error()))
		}
	}
	walk("", err)
	return out
}

// isSchemaMismatch reports kin-openapi's generic "… doesn't match schema #/…" reason, which the
// schema errors under it say better.
func isSchemaMismatch(reason string) bool {
	return strings.Contains(reason, "doesn't match schema")
}

func joinPrefix(prefix, msg string) string {
	if prefix == "" {
		return msg
	}
	return prefix + ": " + msg
}
