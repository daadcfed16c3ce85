package helpers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestKeyWithALineEnding: a key read from a file edited on Windows ends with "\r" (or has a
// space around it): it is sent without that, instead of every request failing with net/http's
// "invalid header field value for Authorization", which names neither the option nor the
// variable. A key with a control character or a space inside is refused before any request,
// naming the option, without showing the key.
func TestKeyWithALineEnding(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{APIKey: testKey})
	for _, key := range []string{testKey + "\r", testKey + "\r\n", " " + testKey + " ", "\t" + testKey} {
		c, err := helpers.NewClient(helpers.ClientOptions{APIKey: key, BaseURL: srv.URL})
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		if _, err := c.ListFiles(context.Background(), nil); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
	t.Cleanup(helpers.DefaultTransport.(*http.Transport).CloseIdleConnections)
	for _, key := range []string{"sk-abc\rdef-123456", "sk-abc def-123456", "sk-abc\x00def-123456"} {
		_, err := helpers.NewClient(helpers.ClientOptions{APIKey: key, BaseURL: srv.URL})
		var in *helpers.InputError
		if !errors.As(err, &in) || in.Field != "ClientOptions.APIKey" {
			t.Errorf("key %q: err = %v, want an InputError naming ClientOptions.APIKey", key, err)
			continue
		}
		if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "def") {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}
