package main

import (
	"strings"
	"testing"
)

// TestParseSize: one syntax for every size flag: decimal and binary units in any case, a bare
// K/M/G decimal, fractions only when they make whole bytes.
func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"8589934593", 8<<30 + 1}, // exact, not through a float
		{"9223372036854775807", 1<<63 - 1},
		{"150MiB", 150 << 20},
		{"150mib", 150 << 20},
		{"32Mib", 32 << 20},
		{"32MIB", 32 << 20},
		{"32Mi", 32 << 20},
		{"32MB", 32_000_000},
		{"32mb", 32_000_000},
		{"32M", 32_000_000},
		{"32m", 32_000_000},
		{"512K", 512_000},
		{"512kB", 512_000},
		{"512KiB", 512 << 10},
		{"1GiB", 1 << 30},
		{"1G", 1_000_000_000},
		{"8GB", 8_000_000_000},
		{"1TiB", 1 << 40},
		{"12 KiB", 12 << 10},
		{" 64MiB ", 64 << 20},
		{"1.5MiB", 3 << 19},
		{".5KiB", 512},
		{".0625KiB", 64},      // a fraction starting with 0
		{".9765625KiB", 1000}, // a fraction starting with 9
		{"10.5KiB", 10752},
		{"100B", 100},
		{"100b", 100},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, says string }{
		{"", "required"},
		{"big", "not a size"},
		{"-1", "not a size"},
		{"1e3", "not a size"},
		{"12 parsecs", "not a size"},
		{"1,000", "separators"},
		{"1_000", "separators"},
		{"1.5B", "whole number of bytes"},
		{"0.1KiB", "whole number of bytes"},
		{".5", "whole number of bytes"},
		{"1.05KiB", "whole number of bytes"}, // a 0 after the point is part of the number
		{"1.9KiB", "whole number of bytes"},  // and so is a 9
		{"9223372036854775808", "too large"},
		{"16EiB", "too large"},
		{"99999999999999999999999", "too large"},
		{"MiB", "not a size"},
		{".", "not a size"},
		{"inf", "not a size"},
		{"NaN", "not a size"},
		{"0x10", "not a size"},
	} {
		_, err := parseSize(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("parseSize(%q): error %v, want one saying %q", tc.in, err, tc.says)
		}
		if err != nil && strings.Contains(err.Error(), "strconv") {
			t.Errorf("parseSize(%q): %v speaks Go", tc.in, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1 << 20: "1.00 MiB", 150 << 20: "150 MiB", 3 << 19: "1.50 MiB", 12345678: "11.8 MiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
