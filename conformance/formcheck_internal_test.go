package conformance

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFormCheckerElidesTheBinaryFields: the fields a form's schema declares as binary (a part's
// data, a File's file) are the ones whose content the skeleton leaves out, so that a 64 MiB part
// is validated without being held; the others are kept for validation.
func TestFormCheckerElidesTheBinaryFields(t *testing.T) {
	v, err := DefaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/v1/uploads/upload_x/parts": "map[data:true]", "/v1/files": "map[file:true]"} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+path, nil)
		route, _, viol := v.findRoute(req)
		if viol != nil {
			t.Fatal(viol)
		}
		c := newFormChecker(io.NopCloser(strings.NewReader("")), "b", route, nil, true, nil)
		if got := fmt.Sprint(c.binary); got != want {
			t.Errorf("%s: binary fields %s, want %s", path, got, want)
		}
		_ = c.Close()
	}
	skeleton, err := buildSkeleton(strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nBYTES\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n"), "b", map[string]bool{"file": true})
	if err != nil || strings.Contains(string(skeleton), "BYTES") || !strings.Contains(string(skeleton), "batch") || !strings.Contains(string(skeleton), `filename="a"`) {
		t.Errorf("skeleton %q (%v), want the file's headers without its bytes, and the purpose", skeleton, err)
	}
}

// TestFormCheckerWithholdsTheEndBeforeAFullEpilogue: an invalid form's closing delimiter stays
// withheld when the shortest boundary (one character) is followed by an epilogue of the whole
// 4096 bytes allowed, so the server never sees the form complete.
func TestFormCheckerWithholdsTheEndBeforeAFullEpilogue(t *testing.T) {
	v, err := DefaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	body := "--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n\r\n" + strings.Repeat("x", 64<<10) +
		"\r\n--b\r\nContent-Disposition: form-data; name=\"chunk\"\r\n\r\n2\r\n--b--\r\n" + strings.Repeat("e", 4096)
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/v1/uploads/upload_x/parts", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	req.Header.Set("Authorization", "Bearer k")
	if err := v.ValidateRequest(req); err != nil {
		t.Fatalf("headers and route are fine, yet: %v", err)
	}
	var sent []byte
	if !Within(t, "reading the checked form", func() { sent, err = io.ReadAll(req.Body) }) {
		t.FailNow()
	}
	_ = req.Body.Close()
	var viol *Violation
	if !errors.As(err, &viol) {
		t.Fatalf("reading the invalid form: %v, want a violation", err)
	}
	if strings.Contains(string(sent), "\r\n--b--") {
		t.Error("the closing delimiter was sent although the form broke the spec")
	}
}
