package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestContractWholeUpload runs every operation through the validating transport against the
// reference server: create, three parts in parallel, complete with md5, retrieve, list, content,
// delete.
func TestContractWholeUpload(t *testing.T) {
	for _, storage := range []conformance.StorageKind{conformance.MemoryStorage, conformance.DiskStorage} {
		t.Run(map[conformance.StorageKind]string{conformance.MemoryStorage: "memory", conformance.DiskStorage: "disk"}[storage], func(t *testing.T) {
			srv := start(t, conformance.ServerOptions{Storage: storage, StorageDir: t.TempDir()})
			c := validatingClient(t, srv.URL)
			ctx := context.Background()

			data := pattern(3<<20 + 12345)
			chunks := [][]byte{data[:1<<20], data[1<<20 : 2<<20], data[2<<20:]}
			up := createUpload(t, c, int64(len(data)))
			if up.Status != generated.UploadStatusPending || up.ExpiresAt-up.CreatedAt != 3600 || !strings.HasPrefix(up.ID, "upload_") {
				t.Fatalf("created %+v", up)
			}

			ids := make([]string, len(chunks))
			var wg sync.WaitGroup
			for i, chunk := range chunks {
				wg.Go(func() {
					resp := addPart(t, c, up.ID, chunk)
					if resp.JSON200 == nil {
						t.Errorf("part %d: %d %s", i, resp.StatusCode(), resp.Body)
						return
					}
					ids[i] = resp.JSON200.ID
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			sum := md5hex(data)
			done, err := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: ids, MD5: &sum})
			if err != nil || done.JSON200 == nil {
				t.Fatalf("complete: %v %s", err, done.Body)
			}
			u := done.JSON200
			if u.Status != generated.UploadStatusCompleted || u.File == nil || u.File.Bytes != int64(len(data)) ||
				u.File.Status != generated.OpenAIFileStatusProcessed || u.File.Purpose != generated.OpenAIFilePurposeFineTune ||
				u.File.Filename != "train.jsonl" || !strings.HasPrefix(u.File.ID, "file-") {
				t.Fatalf("completed %+v file %+v", u, u.File)
			}
			fileID := u.File.ID

			got, err := c.RetrieveFileWithResponse(ctx, fileID)
			if err != nil || got.JSON200 == nil || *got.JSON200 != *u.File {
				t.Fatalf("retrieve: %v %+v, want %+v", err, got.JSON200, u.File)
			}
			purpose := "fine-tune"
			list, err := c.ListFilesWithResponse(ctx, &generated.ListFilesParams{Purpose: &purpose})
			if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].ID != fileID {
				t.Fatalf("list: %v %s", err, list.Body)
			}
			content, err := c.DownloadFileWithResponse(ctx, fileID)
			if err != nil || content.StatusCode() != 200 || !bytes.Equal(content.Body, data) {
				t.Fatalf("content: %v status %d, %d bytes (want %d, byte-exact)", err, content.StatusCode(), len(content.Body), len(data))
			}
			del, err := c.DeleteFileWithResponse(ctx, fileID)
			if err != nil || del.JSON200 == nil || !del.JSON200.Deleted || del.JSON200.ID != fileID {
				t.Fatalf("delete: %v %s", err, del.Body)
			}
			gone, err := c.RetrieveFileWithResponse(ctx, fileID)
			if err != nil || gone.JSON404 == nil {
				t.Fatalf("retrieve after delete: %v %d %s", err, gone.StatusCode(), gone.Body)
			}
			cancel, err := c.CancelUploadWithResponse(ctx, up.ID)
			if err != nil || cancel.JSON400 == nil {
				t.Fatalf("cancel after complete: %v %d %s", err, cancel.StatusCode(), cancel.Body)
			}
		})
	}
}

// TestServerSendsNullNotAbsent: the server and the spec agree on null versus absent: a pending
// Upload's file, and a File's expires_at and status_details when it has none, are sent as null.
func TestServerSendsNullNotAbsent(t *testing.T) {
	srv := start(t, conformance.ServerOptions{})
	c := validatingClient(t, srv.URL)
	raw := func(body []byte) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	resp, err := c.CreateUploadWithResponse(context.Background(), generated.CreateUploadRequest{Bytes: 1, Filename: "a", MimeType: "text/plain", Purpose: "assistants"})
	if err != nil || resp.JSON200 == nil {
		t.Fatal(err)
	}
	if got, ok := raw(resp.Body)["file"]; !ok || string(got) != "null" {
		t.Errorf("a pending Upload's file is %q (present %v), want null", got, ok)
	}
	f := createFile(t, c, "doc.pdf", []byte("%PDF"), "purpose", "assistants")
	m := raw(f.Body)
	for _, field := range []string{"expires_at", "status_details"} {
		if got, ok := m[field]; !ok || string(got) != "null" {
			t.Errorf("a File's %s is %q (present %v), want null", field, got, ok)
		}
	}
}

// reportingClient sends requests even when they break the spec (the reference server must
// refuse them itself) while every response is still validated.
func reportingClient(t *testing.T, baseURL string) (*generated.ClientWithResponses, *conformance.Report) {
	t.Helper()
	report := &conformance.Report{}
	return clientWith(t, baseURL, &conformance.Transport{Base: newBase(t), Report: report}), report
}

// responseViolations fails the test if any response broke the spec.
func responseViolations(t *testing.T, report *conformance.Report) {
	t.Helper()
	for _, v := range report.Violations() {
		if v.Direction == conformance.DirectionResponse {
			t.Errorf("response violation: %v", v)
		}
	}
}

type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// TestContractServerErrors checks each refusal of the reference server: status, OpenAI's
// envelope (validated against the spec), the param, and a message that says what is wrong.
func TestContractServerErrors(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_800_000_000)
	srv := start(t, conformance.ServerOptions{Now: clk.Now})
	c, report := reportingClient(t, srv.URL)
	ctx := context.Background()
	t.Cleanup(func() { responseViolations(t, report) })

	check := func(t *testing.T, status int, body []byte, wantStatus int, wantParam, wantText string) {
		t.Helper()
		if status != wantStatus {
			t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
		}
		e := errorOf(t, status, body)
		if wantParam != "" && (e.Param == nil || *e.Param != wantParam) {
			t.Errorf("param %v, want %q (message %q)", e.Param, wantParam, e.Message)
		}
		if !strings.Contains(e.Message, wantText) {
			t.Errorf("message %q does not say %q", e.Message, wantText)
		}
	}
	create := func(body string) (int, []byte) {
		resp, err := c.CreateUploadWithBodyWithResponse(ctx, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), resp.Body
	}

	t.Run("create", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, param, text string
		}{
			{"bytes above 8 GB", `{"bytes":8589934593,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`, "bytes", "8589934592"},
			{"negative bytes", `{"bytes":-1,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`, "bytes", "at most"},
			{"bytes as a string", `{"bytes":"12","filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`, "bytes", "integer"},
			{"unknown purpose", `{"bytes":1,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"training"}`, "purpose", "training"},
			{"missing mime_type", `{"bytes":1,"filename":"a.jsonl","purpose":"batch"}`, "mime_type", "Missing required parameter"},
			{"missing filename", `{"bytes":1,"mime_type":"application/jsonl","purpose":"batch"}`, "filename", "Missing required parameter"},
			{"empty filename", `{"bytes":1,"filename":"","mime_type":"application/jsonl","purpose":"batch"}`, "filename", "empty"},
			{"unknown field", `{"bytes":1,"filename":"a","mime_type":"text/plain","purpose":"batch","color":"red"}`, "color", "Unrecognized"},
			{"expires_after seconds", `{"bytes":1,"filename":"a","mime_type":"text/plain","purpose":"batch","expires_after":{"anchor":"created_at","seconds":60}}`, "expires_after.seconds", "3600"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := create(tc.body)
				check(t, status, body, 400, tc.param, tc.text)
			})
		}
	})

	t.Run("part above 64 MiB is cut off", func(t *testing.T) {
		up := createUpload(t, c, 1<<30)
		const size = 200 << 20
		ct, body, src := oversizedForm("data", size)
		resp, err := c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
		if err != nil {
			t.Fatalf("the 400 did not arrive: %v", err)
		}
		check(t, resp.StatusCode(), resp.Body, 400, "data", fmt.Sprint(conformance.MaxPartBytes))
		if read := src.read.Load(); read >= size {
			t.Errorf("the client sent all %d bytes: the server read to the end instead of cutting off", read)
		}
		if n := srv.UploadParts(up.ID); n != 0 {
			t.Errorf("the Upload holds %d parts after the refusal", n)
		}
	})

	t.Run("part above the Upload's bytes is cut off", func(t *testing.T) {
		up := createUpload(t, c, 10)
		const size = 20 << 20
		ct, body, src := oversizedForm("data", size)
		resp, err := c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
		if err != nil {
			t.Fatalf("the 400 did not arrive: %v", err)
		}
		check(t, resp.StatusCode(), resp.Body, 400, "data", "more than 10 bytes")
		if e := errorOf(t, 400, resp.Body); !strings.Contains(e.Message, "past the 10 bytes it was created with") {
			t.Errorf("message %q does not name the Upload's bytes", e.Message)
		}
		if read := src.read.Load(); read >= size {
			t.Errorf("the client sent all %d bytes: the server read to the end instead of cutting off", read)
		}
		if n := srv.UploadParts(up.ID); n != 0 {
			t.Errorf("the Upload holds %d parts after the refusal", n)
		}
		if st := srv.Stats(); st.StoredBytes != 0 {
			t.Errorf("the server holds %d bytes after the refusal", st.StoredBytes)
		}
	})

	t.Run("an oversized extra field is cut off", func(t *testing.T) {
		up := createUpload(t, c, 1)
		const size = 64 << 20
		ct, body, src := oversizedForm("note", size)
		resp, err := c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
		if err != nil {
			t.Fatalf("the 400 did not arrive: %v", err)
		}
		check(t, resp.StatusCode(), resp.Body, 400, "note", "at most 1024 bytes")
		if src.read.Load() >= size {
			t.Error("the server read the oversized field to its end")
		}
	})

	t.Run("missing data field", func(t *testing.T) {
		up := createUpload(t, c, 1)
		ct, body := formBody(func(mw *multipart.Writer) error { return mw.WriteField("other", "x") })
		resp, err := c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp.StatusCode(), resp.Body, 400, "data", "Missing required parameter")
	})

	t.Run("no parts after complete, cancel or expiry", func(t *testing.T) {
		completed := createUpload(t, c, 2)
		p := addPart(t, c, completed.ID, []byte("ab")).JSON200
		if done, err := c.CompleteUploadWithResponse(ctx, completed.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}}); err != nil || done.JSON200 == nil {
			t.Fatalf("complete: %v", err)
		}
		resp := addPart(t, c, completed.ID, []byte("c"))
		check(t, resp.StatusCode(), resp.Body, 400, "upload_id", "completed")

		cancelled := createUpload(t, c, 1)
		if r, err := c.CancelUploadWithResponse(ctx, cancelled.ID); err != nil || r.JSON200 == nil || r.JSON200.Status != generated.UploadStatusCancelled {
			t.Fatalf("cancel: %v", err)
		}
		resp = addPart(t, c, cancelled.ID, []byte("c"))
		check(t, resp.StatusCode(), resp.Body, 400, "upload_id", "cancelled")

		expiring := createUpload(t, c, 1)
		clk.advance(conformance.UploadTTL)
		resp = addPart(t, c, expiring.ID, []byte("c"))
		check(t, resp.StatusCode(), resp.Body, 400, "upload_id", "expired")
		if u, _ := srv.Upload(expiring.ID); u.Status != generated.UploadStatusExpired {
			t.Errorf("status %s after the hour, want expired", u.Status)
		}
		done, err := c.CompleteUploadWithResponse(ctx, expiring.ID, generated.CompleteUploadRequest{PartIDs: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, done.StatusCode(), done.Body, 400, "upload_id", "expired")
	})

	t.Run("complete", func(t *testing.T) {
		up := createUpload(t, c, 6)
		a := addPart(t, c, up.ID, []byte("abc")).JSON200.ID
		b := addPart(t, c, up.ID, []byte("def")).JSON200.ID
		// The same bytes again (a client's retry after a lost answer) add nothing to the
		// Upload's 6 bytes; new bytes past them are refused, naming both numbers.
		extra := addPart(t, c, up.ID, []byte("abc")).JSON200.ID
		over := addPart(t, c, up.ID, []byte("zz"))
		check(t, over.StatusCode(), over.Body, 400, "data", "would take Upload '"+up.ID+"' to 8 bytes, past the 6 bytes it was created with")
		other := createUpload(t, c, 3)
		foreign := addPart(t, c, other.ID, []byte("xyz")).JSON200.ID

		complete := func(ids []string, md5 *string) (int, []byte, *generated.Upload) {
			resp, err := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: ids, MD5: md5})
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode(), resp.Body, resp.JSON200
		}
		status, body, _ := complete([]string{a, foreign}, nil)
		check(t, status, body, 400, "part_ids", foreign)
		status, body, _ = complete([]string{a, a}, nil)
		check(t, status, body, 400, "part_ids", "more than once")
		status, body, _ = complete([]string{a}, nil)
		check(t, status, body, 400, "part_ids", "add up to 3 bytes")
		wrong := md5hex([]byte("abcdef")) // right bytes, wrong order below
		status, body, _ = complete([]string{b, a}, &wrong)
		check(t, status, body, 400, "md5", "md5 mismatch")
		status, body, _ = complete([]string{a, b}, ptr("not-hex"))
		check(t, status, body, 400, "md5", "hexadecimal")

		// Parts uploaded but not listed (extra) are ignored.
		status, body, done := complete([]string{a, b}, &wrong)
		if status != 200 || done.File == nil || done.File.Bytes != 6 {
			t.Fatalf("complete: %d %s", status, body)
		}
		content, err := c.DownloadFileWithResponse(ctx, done.File.ID)
		if err != nil || string(content.Body) != "abcdef" {
			t.Fatalf("content %q, want abcdef (without the unlisted part %s)", content.Body, extra)
		}
		again, err := c.CancelUploadWithResponse(ctx, up.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, again.StatusCode(), again.Body, 400, "upload_id", "completed")
	})

	t.Run("not found", func(t *testing.T) {
		resp, err := c.CancelUploadWithResponse(ctx, "upload_missing")
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp.StatusCode(), resp.Body, 404, "upload_id", "upload_missing")
		for name, call := range map[string]func() (int, []byte){
			"retrieve": func() (int, []byte) {
				r, _ := c.RetrieveFileWithResponse(ctx, "file-missing")
				return r.StatusCode(), r.Body
			},
			"delete": func() (int, []byte) {
				r, _ := c.DeleteFileWithResponse(ctx, "file-missing")
				return r.StatusCode(), r.Body
			},
			"content": func() (int, []byte) {
				r, _ := c.DownloadFileWithResponse(ctx, "file-missing")
				return r.StatusCode(), r.Body
			},
		} {
			status, body := call()
			t.Run(name, func(t *testing.T) { check(t, status, body, 404, "file_id", "file-missing") })
		}
	})

	t.Run("auth", func(t *testing.T) {
		keyed := start(t, conformance.ServerOptions{APIKey: "sk-the-right-key"})
		for name, header := range map[string]string{
			"missing":   "",
			"malformed": "Token abc",
			"empty":     "Bearer ",
			"wrong key": "Bearer sk-a-wrong-key-0001",
		} {
			t.Run(name, func(t *testing.T) {
				cl, err := generated.NewClientWithResponses(keyed.URL, generated.WithHTTPClient(&http.Client{Transport: &conformance.Transport{Base: newBase(t), Report: report}}),
					generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
						if header != "" {
							req.Header.Set("Authorization", header)
						}
						return nil
					}))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := cl.ListFilesWithResponse(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				check(t, resp.StatusCode(), resp.Body, 401, "", "")
				if strings.Contains(string(resp.Body), "sk-a-wrong-key-0001") {
					t.Errorf("the 401 echoes the key: %s", resp.Body)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

// oversizedForm streams a form with one field of size bytes, generated lazily; src counts what
// the server made the client send.
func oversizedForm(field string, size int64) (string, io.Reader, *countingReader) {
	src := &countingReader{left: size}
	ct, body := formBody(func(mw *multipart.Writer) error {
		w, err := mw.CreateFormFile(field, "big")
		if err == nil {
			_, err = io.Copy(w, src)
		}
		return err
	})
	return ct, body, src
}

var xs = [32 << 10]byte(bytes.Repeat([]byte("x"), 32<<10))

// countingReader yields left bytes of 'x' lazily and counts what was read.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > r.left {
		n = r.left
	}
	for i := int64(0); i < n; {
		i += int64(copy(p[i:n], xs[:]))
	}
	r.left -= n
	r.read.Add(n)
	return int(n), nil
}

// TestServerTrustMD5: with TrustMD5 a wrong md5 is not caught (the benchmark knob); without it,
// it is (see TestContractServerErrors).
func TestServerTrustMD5(t *testing.T) {
	srv := start(t, conformance.ServerOptions{TrustMD5: true})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 3)
	p := addPart(t, c, up.ID, []byte("abc")).JSON200
	wrong := md5hex([]byte("xyz"))
	resp, err := c.CompleteUploadWithResponse(context.Background(), up.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}, MD5: &wrong})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("complete with TrustMD5: %v %s", err, resp.Body)
	}
}
