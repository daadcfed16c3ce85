package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// sizeHelp says, in --help, how every size flag reads its value.
const sizeHelp = "bytes with an optional unit (any case):\n" +
	"  binary   KiB, MiB, GiB, TiB (or Ki, Mi, Gi, Ti): 64MiB = 67108864\n" +
	"  decimal  kB, MB, GB, TB (or a bare K, M, G, T):  64MB = 64M = 64000000\n" +
	"  a fraction is fine when it makes whole bytes:    1.5GiB"

// parseSize reads a size the way every size flag does: a whole number of bytes, optionally
// followed by a unit, in any case, with or without a space: decimal units (kB, MB, GB, TB: powers of
// 1000; a bare K, M, G, T means the same) or binary ones (KiB, MiB, GiB, TiB, also written Ki, Mi,
// Gi, Ti: powers of 1024). A fraction is allowed when the result is a whole number of bytes
// (1.5MiB). go-humanize does the parsing; this function adds the checks a command line wants.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("a size is required (%s)", sizeExamples)
	}
	if strings.ContainsAny(t, ",_") {
		return 0, fmt.Errorf("%q is not a size: write the number without separators (%s)", s, sizeExamples)
	}
	if t[0] < '0' || t[0] > '9' {
		if t[0] != '.' || len(t) < 2 || t[1] < '0' || t[1] > '9' {
			return 0, fmt.Errorf("%q is not a size (%s)", s, sizeExamples)
		}
	}
	n, err := humanize.ParseBytes(t)
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return 0, fmt.Errorf("%q is not a size (%s)", s, sizeExamples)
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if strings.Contains(t, ".") && !wholeBytes(t) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	return int64(n), nil
}

// sizeExamples follows a size error.
const sizeExamples = "for example 64MiB, 500MB, 1.5GiB or 1048576"

// wholeBytes reports whether a size with a fraction (already accepted by go-humanize) makes a
// whole number of bytes: 1.5MiB does, 1.5B does not.
func wholeBytes(t string) bool {
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return false
	}
	m, err := humanize.ParseBytes("1" + unit)
	if err != nil {
		return false
	}
	return r.Mul(r, new(big.Rat).SetUint64(m)).IsInt()
}

// formatSize writes a byte count for people: binary units with one decimal (12.3 MiB).
func formatSize(n int64) string {
	if n < 0 {
		return "-" + formatSize(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	return humanize.IBytesN(uint64(n), 3)
}

// humanBytes is formatSize; the demo's summary uses it.
func humanBytes(n int64) string { return formatSize(n) }

func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// decodeStrict decodes one JSON value with no unknown fields and nothing after it.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("extra data after the object")
	}
	return nil
}
