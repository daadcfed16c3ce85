package main

import (
	"context"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestKeyFromAFileWithCRLF: OPENAI_API_KEY read from a file saved on Windows ends with "\r": the
// command works (the line ending is not part of the key); a key with a line break inside is a
// usage error naming the flag and the variable, exit 2, without the key, and sends nothing.
func TestKeyFromAFileWithCRLF(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{APIKey: cliKey})
	t.Setenv("OPENAI_API_KEY", cliKey+"\r")
	r := runApp(t, context.Background(), validatingApp(t, ""), "files", "list", "--base-url", srv.URL)
	if r.code != exitOK {
		t.Errorf("a key ending in \\r: exit %d, stderr %q", r.code, r.stderr)
	}
	before := srv.Server.Stats().Requests
	broken := cliKey[:6] + "\n" + cliKey[6:]
	t.Setenv("OPENAI_API_KEY", broken)
	r = runApp(t, context.Background(), validatingApp(t, ""), "files", "list", "--base-url", srv.URL)
	if r.code != exitUsage || !strings.Contains(r.stderr, "OPENAI_API_KEY") || strings.Contains(r.stderr, cliKey[6:]) {
		t.Errorf("a key with a line break inside: exit %d, stderr %q; want 2 naming OPENAI_API_KEY, without the key", r.code, r.stderr)
	}
	if n := srv.Server.Stats().Requests; n != before {
		t.Errorf("%d requests sent with a broken key", n-before)
	}
}
