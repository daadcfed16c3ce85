package main

import (
	"fmt"
	"testing"

	"github.com/openai-uploads/uploads/helpers"
)

// FuzzParseExpiresAfter: any text parses to an error or to a valid policy (anchor created_at,
// seconds in range), and the canonical form of a policy parses back to it.
func FuzzParseExpiresAfter(f *testing.F) {
	for _, s := range []string{
		"anchor=created_at,seconds=3600", "seconds=2592000", "seconds=3600,anchor=created_at",
		`{"anchor":"created_at","seconds":86400}`, `{"seconds":4000}`, "seconds=60", "anchor=now,seconds=4000",
		"seconds=1,seconds=2", "", ",", "=", "seconds=", `{"seconds":1e3}`, `{"seconds":3600}{}`, "seconds=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ea, err := parseExpiresAfter(s)
		if err != nil {
			return
		}
		if ea.Anchor != "created_at" || ea.Seconds < helpers.MinExpiresAfterSeconds || ea.Seconds > helpers.MaxExpiresAfterSeconds {
			t.Fatalf("%q accepted as %+v", s, ea)
		}
		back, err := parseExpiresAfter(fmt.Sprintf("anchor=%s,seconds=%d", ea.Anchor, ea.Seconds))
		if err != nil || *back != *ea {
			t.Fatalf("%q: the canonical form does not parse back: %v %+v", s, err, back)
		}
	})
}

// FuzzParseSize: any text parses to an error or to a non-negative count that its plain decimal
// form gives back.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1GiB", "500MB", "512K", "12 KiB", "-1", "1e3", "9223372036854775807", "8589934592G", "MiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q parsed to %d", s, n)
		}
		if back, err := parseSize(fmt.Sprint(n)); err != nil || back != n {
			t.Fatalf("%q: %d does not parse back: %v %d", s, n, err, back)
		}
	})
}
