package helpers

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Debug output (ClientOptions.Debug): a line per request and response, and a line per decision
// taken after a lost reply. Credentials are redacted and the key is scrubbed from every line.

func (t *transport) logRequest(req *http.Request, attempt int) {
	if t.debug != nil {
		t.logf("openai-uploads: > %s %s (attempt %d) %s\n", req.Method, req.URL.Redacted(), attempt+1, t.redactedHeaders(req.Header))
	}
}

func (t *transport) logResponse(req *http.Request, resp *http.Response, err error) {
	switch {
	case t.debug == nil:
	case err != nil:
		t.logf("openai-uploads: < %s %s: %v\n", req.Method, req.URL.Redacted(), err)
	default:
		t.logf("openai-uploads: < %s %s: %s %s\n", req.Method, req.URL.Redacted(), scrub(resp.Status, t.key), t.redactedHeaders(resp.Header))
	}
}

// logf writes one debug line; lines from concurrent requests never interleave.
func (t *transport) logf(format string, args ...any) {
	if t.debug == nil {
		return
	}
	line := scrub(fmt.Sprintf(format, args...), t.key)
	t.debugMu.Lock()
	defer t.debugMu.Unlock()
	_, _ = io.WriteString(t.debug, line)
}

// redactedHeaders formats headers for debug output: credentials replaced, and the key scrubbed
// from every other value (a server may echo it, in WWW-Authenticate for one).
func (t *transport) redactedHeaders(h http.Header) string {
	var b strings.Builder
	first := true
	for _, k := range sortedKeys(h) {
		v := scrub(strings.Join(h[k], ", "), t.key)
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-api-key":
			v = "[redacted]"
		}
		if !first {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(scrubFold(k, t.key) + ": " + v)
	}
	return b.String()
}
