package helpers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// keyCatcher is a server on another host that records every Authorization and OpenAI-* header
// it receives.
type keyCatcher struct {
	mu   sync.Mutex
	seen []string
}

func (k *keyCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	for name, v := range r.Header {
		if strings.EqualFold(name, "Authorization") || strings.HasPrefix(strings.ToLower(name), "openai-") {
			k.seen = append(k.seen, name+": "+strings.Join(v, ","))
		}
	}
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"object":"list","data":[],"has_more":false}`))
}

func (k *keyCatcher) headers() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return strings.Join(k.seen, "\n")
}

// TestRedirectToAnotherHostCarriesNoKey: a server (or a proxy in front of it) that redirects a
// request to another host must not receive the API key, the organization or the project there:
// net/http drops Authorization on such a redirect, but the client's transport sets the headers
// on every request it sends, the redirected one included. The other host here is "localhost"
// where the API is "127.0.0.1" (both loopback; net/http compares host names).
func TestRedirectToAnotherHostCarriesNoKey(t *testing.T) {
	catcher := &keyCatcher{}
	other := httptest.NewServer(catcher)
	t.Cleanup(other.Close)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/files") {
					http.Redirect(w, r, otherURL+r.URL.Path, code)
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
			o.Organization, o.Project = "org-attack-redirect", "proj-attack-redirect"
		})
		_, _ = c.ListFiles(context.Background(), nil) // whatever it answers: what matters is what the other host saw
	}
	if got := catcher.headers(); got != "" {
		t.Errorf("the host a redirect pointed to received the credentials:\n%s", got)
	}
	if got := catcher.headers(); strings.Contains(got, testKey) {
		t.Errorf("the API key went to another host")
	}
}

// TestRedirectToTheSameHostKeepsTheKey: a redirect within the API's own host still carries the
// key (a base URL that answers /v1/files with a redirect to /v1/files/ keeps working).
func TestRedirectToTheSameHostKeepsTheKey(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/moved/files" {
				mu.Lock()
				auth = append(auth, r.Header.Get("Authorization"))
				mu.Unlock()
				r.URL.Path = "/v1/files"
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodGet && r.URL.Path == "/v1/files" {
				http.Redirect(w, r, "/v1/moved/files", http.StatusFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// Not the validating client: a 302 is not in the contract, and is what this test is about.
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(helpers.DefaultTransport.(*http.Transport).CloseIdleConnections)
	if _, err := c.ListFiles(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "Bearer "+testKey {
		t.Errorf("the redirected request on the same host carried Authorization %q, want the key", auth)
	}
}

// TestKeyEchoedInARedirectIsScrubbed: a server that echoes the key into the Location of its
// redirects, over and over: the error (net/http stops after 10 redirects, naming the last URL)
// and the debug output must not show it.
func TestKeyEchoedInARedirectIsScrubbed(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if key == "" {
			key = testKey // what a server that learnt the key would echo
		}
		http.Redirect(w, r, "/v1/files?echo="+key, http.StatusFound)
	}))
	t.Cleanup(echo.Close)
	var debug syncBuffer
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: echo.URL + "/v1", Debug: &debug, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(helpers.DefaultTransport.(*http.Transport).CloseIdleConnections)
	for name, call := range map[string]func() error{
		"listFiles":  func() error { _, err := c.ListFiles(context.Background(), nil); return err },
		"deleteFile": func() error { _, err := c.DeleteFile(context.Background(), "file-abc"); return err },
		"downloadFile": func() error {
			rc, err := c.DownloadFile(context.Background(), "file-abc")
			if err == nil {
				rc.Close()
			}
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s: no error after endless redirects", name)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
	if strings.Contains(debug.String(), testKey) {
		t.Errorf("the debug output shows the key")
	}
}
