package helpers_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// lagList is a files list that lags: its first answer is an empty page, as a list that does not
// yet show a File made a moment ago; the next answers are the server's own.
type lagList struct {
	mu     sync.Mutex
	lagged int
}

func (l *lagList) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/v1/files" {
			l.mu.Lock()
			first := l.lagged == 0
			l.lagged++
			l.mu.Unlock()
			if first {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestUploadFilesLostReplyOfASmallFileListLags: POST /files whose reply is lost after the File
// was made, and a files list that does not show the new File at its first look. The search
// looks again (lostSearches) and takes the File: it is not sent again, exactly one File exists.
func TestUploadFilesLostReplyOfASmallFileListLags(t *testing.T) {
	lost := conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultLostResponse}, Operations: []string{"createFile"}}
	lag := &lagList{}
	srv := startServer(t, conformance.ServerOptions{Faults: lost}, lag.wrap)
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
	paths, datas := filesOf(t, 1, 700)
	var notes []string
	results, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{Purpose: "batch",
		Notify: func(_ int, _, msg string) { notes = append(notes, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Files != 1 || st.Operations["createFile"] != 1 {
		t.Errorf("%d Files and %d POST /files, want 1 and 1: the File the lagging list hid at first was sent again", st.Files, st.Operations["createFile"])
	}
	lag.mu.Lock()
	looks := lag.lagged
	lag.mu.Unlock()
	if looks < 2 {
		t.Errorf("the files list was read %d times, want the empty first look and another", looks)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "is taken as its File") {
		t.Errorf("notices %q", notes)
	}
	checkResults(t, c, paths, datas, results, 1000)
}
