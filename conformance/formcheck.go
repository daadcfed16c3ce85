package conformance

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"sync"

	"github.com/getkin/kin-openapi/routers"
)

// formChecker is the body of a multipart request under validation. Bytes pass through it to the
// sender unchanged while a goroutine parses a copy into a skeleton (same parts and headers, binary
// content elided). The last holdBack bytes (the closing delimiter) are released only once the
// skeleton has been validated; with enforce set a violation is returned in their place, so an
// invalid form is never completed on the wire.
type formChecker struct {
	src      io.ReadCloser
	boundary string
	binary   map[string]bool
	validate func(skeleton []byte, parseErr error) *Violation
	enforce  bool
	record   func(*Violation)

	// The pipe exists from the start so that Close, which the sender may call from another
	// goroutine while a Read is under way, only ever touches closeOnce, src and pw (all safe for
	// concurrent use). The parser goroutine starts on the first Read.
	pr        *io.PipeReader
	pw        *io.PipeWriter
	closeOnce sync.Once
	started   bool
	result    chan *Violation

	store    []byte // holds pending bytes at its start; reads land after them
	pending  []byte // read from src, not yet handed to the sender
	holdBack int
	eof      bool  // src is exhausted and validation is done
	failed   error // sticky: returned by every later Read
}

const formReadChunk = 32 << 10

// errBodyClosed ends the parser when the sender closes the body before its end.
var errBodyClosed = errors.New("conformance: request body closed before its end")

func newFormChecker(src io.ReadCloser, boundary string, route *routers.Route, validate func([]byte, error) *Violation, enforce bool, record func(*Violation)) *formChecker {
	binary := map[string]bool{}
	if media := route.Operation.RequestBody.Value.Content.Get("multipart/form-data"); media != nil && media.Schema != nil {
		for name, prop := range media.Schema.Value.Properties {
			if prop.Value != nil && prop.Value.Type.Is("string") && prop.Value.Format == "binary" {
				binary[name] = true
			}
		}
	}
	holdBack := len(boundary) + 8 + 4096 // the closing "\r\n--boundary--\r\n" and a short epilogue
	pr, pw := io.Pipe()
	return &formChecker{
		src: src, boundary: boundary, binary: binary, validate: validate, enforce: enforce, record: record,
		holdBack: holdBack, store: make([]byte, holdBack+formReadChunk),
		pr: pr, pw: pw, result: make(chan *Violation, 1),
	}
}

func (c *formChecker) start() {
	c.started = true
	go func() {
		skeleton, err := buildSkeleton(c.pr, c.boundary, c.binary)
		_, _ = io.Copy(io.Discard, c.pr) // keep the pipe flowing whatever happened
		if errors.Is(err, errBodyClosed) {
			c.result <- nil
			return
		}
		c.result <- c.validate(skeleton, err)
	}()
}

func (c *formChecker) Read(p []byte) (int, error) {
	for {
		if c.failed != nil {
			return 0, c.failed
		}
		releasable := len(c.pending) - c.holdBack
		if c.eof {
			releasable = len(c.pending)
		}
		if releasable > 0 {
			n := copy(p, c.pending[:releasable])
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.eof {
			return 0, io.EOF
		}
		if !c.started {
			c.start()
		}
		// Move what is pending to the front of the store and read after it.
		kept := copy(c.store, c.pending)
		n, err := c.src.Read(c.store[kept:])
		c.pending = c.store[:kept+n]
		if n > 0 {
			if _, werr := c.pw.Write(c.store[kept : kept+n]); werr != nil {
				c.failed = werr
				continue
			}
		}
		switch {
		case err == io.EOF:
			_ = c.pw.Close()
			if viol := <-c.result; viol != nil {
				if c.enforce {
					c.failed, c.pending = viol, nil
					continue
				}
				if c.record != nil {
					c.record(viol)
				}
			}
			c.eof = true
		case err != nil:
			_ = c.pw.CloseWithError(err)
			<-c.result
			c.failed = err
		}
	}
}

// Close closes the source and ends the parser; it is safe to call while a Read is under way.
func (c *formChecker) Close() error {
	err := c.src.Close()
	c.closeOnce.Do(func() { _ = c.pw.CloseWithError(errBodyClosed) })
	return err
}

// buildSkeleton reads a multipart form and writes the same parts with the same headers, with the
// content of binary fields elided and other fields cut at MaxFormFieldBytes.
func buildSkeleton(r io.Reader, boundary string, binary map[string]bool) ([]byte, error) {
	mr := multipart.NewReader(r, boundary)
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		w, err := mw.CreatePart(textproto.MIMEHeader(part.Header))
		if err != nil {
			return nil, err
		}
		if !binary[part.FormName()] {
			if _, err := io.Copy(w, io.LimitReader(part, MaxFormFieldBytes)); err != nil {
				return nil, err
			}
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
