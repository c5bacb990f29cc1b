// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestSscanf checks Sscanf against what glibc's sscanf answers for the same input and format.
func TestSscanf(t *testing.T) {
	for _, tc := range []struct {
		in, format string
		want       int
		vals       string // the assigned values, %v-printed and space-separated
	}{
		{"12 34", "%i %i", 2, "12 34"},
		{"0x10 010", "%i %i", 2, "16 8"},
		{"0x10", "%d", 1, "0"}, // %d stops at the x
		{"ff", "%x", 1, "255"},
		{"abc", "%d", 0, ""},
		{"", "%d", -1, ""},
		{"  \t", "%d", -1, ""},
		{"100+20", "%lf+%lf", 2, "100 20"},
		{"LR200", "LR%lf+%lf", 1, "200"},
		{"RL5.5", "LR%lf+%lf", 0, ""},
		{"1,2,50", "%d,%d,%lf", 3, "1 2 50"},
		{"1 ,2", "%d,%d", 1, "1"},   // a literal does not skip blanks
		{"1, 2", "%d,%d", 2, "1 2"}, // a conversion does
		{"hello  world\r", "%s %s", 2, "hello world"},
		{" x", "%c", 1, "32"},
		{"5 6", "%*d %d", 1, "6"},
		{"50%", "%d%%", 1, "50"},
		{"1e3 1e .5 0x1.8 -inf nan(12) 1.5e+", "%lf %lf %lf %lf %lf %lf %lf", 2, "1000 1"}, // strtod takes "1" of "1e": the 3rd fails on "e"
		{".5 0x1.8 -INF nan(12) 1.5e+", "%g %g %g %g %g", 5, "0.5 1.5 -Inf NaN 1.5"},
		{".", "%f", 0, ""},
		{"9999999999", "%d", 1, "1410065407"}, // wrapped to a C int
		{"-2147483649", "%ld", 1, "2147483647"},
	} {
		args := make([]any, strings.Count(tc.format, "%")-2*strings.Count(tc.format, "%%")-strings.Count(tc.format, "%*"))
		for i, v := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(tc.format, "%%", ""), "%*", ""), "%")[1:] {
			v = strings.TrimLeft(v, "hl")
			switch v[0] {
			case 's':
				args[i] = new(string)
			case 'c':
				args[i] = new(byte)
			case 'f', 'g', 'e':
				args[i] = new(float64)
			default:
				args[i] = new(int)
			}
		}
		got := Sscanf(tc.in, tc.format, args...)
		var vals []string
		for _, a := range args[:max(got, 0)] {
			switch p := a.(type) {
			case *string:
				vals = append(vals, *p)
			case *byte:
				vals = append(vals, fmt.Sprint(*p))
			case *float64:
				vals = append(vals, fmt.Sprint(*p))
			case *int:
				vals = append(vals, fmt.Sprint(*p))
			}
		}
		if got != tc.want || strings.Join(vals, " ") != tc.vals {
			t.Errorf("Sscanf(%q, %q) = %d %q, want %d %q", tc.in, tc.format, got, strings.Join(vals, " "), tc.want, tc.vals)
		}
	}
	var l int64
	if n := Sscanf("9999999999", "%ld", &l); n != 1 || l != 9999999999 {
		t.Errorf("Sscanf into *int64 = %d %d", n, l)
	}
}

func TestScanFloat(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  float64
		n  int
		ok bool
	}{
		{" 1.25x", 1.25, 5, true}, {"-1e-2", -0.01, 5, true}, {"1e", 1, 1, true}, {"1e+", 1, 1, true},
		{"0x", 0, 1, true}, {"0x.8", 0.5, 4, true}, {"0x1p3", 8, 5, true}, {"0x1p", 1, 3, true},
		{"infinity", math.Inf(1), 8, true}, {"-Infx", math.Inf(-1), 4, true}, {"+", 0, 0, false},
		{"", 0, 0, false}, {"1e999", math.Inf(1), 5, true}, {"1e-999", 0, 6, true}, {"-.", 0, 0, false},
	} {
		v, n, ok := ScanFloat(tc.in)
		if v != tc.v || n != tc.n || ok != tc.ok {
			t.Errorf("ScanFloat(%q) = %v, %d, %v; want %v, %d, %v", tc.in, v, n, ok, tc.v, tc.n, tc.ok)
		}
	}
	if v, n, ok := ScanFloat("nan(x_1)y"); !math.IsNaN(v) || n != 8 || !ok {
		t.Errorf("ScanFloat(nan(x_1)y) = %v, %d, %v", v, n, ok)
	}
}

// FuzzSscanf checks that Sscanf and ScanFloat never panic on any input, never consume more than it,
// and never report more conversions than the format has.
func FuzzSscanf(f *testing.F) {
	for _, s := range []string{"", "100+20N", "LR10", "1,2,50", "0x1.8p-3", "nan(", "-inf", "1e+", " a b", "5%"} {
		f.Add(s)
	}
	formats := []struct {
		f    string
		args func() []any
	}{
		{"%lf+%lf", func() []any { return []any{new(float64), new(float64)} }},
		{"LR%lf+%lf", func() []any { return []any{new(float64), new(float64)} }},
		{"%d,%d,%lf", func() []any { return []any{new(int), new(int), new(float64)} }},
		{"%i %x %o %s %c", func() []any { return []any{new(int), new(int64), new(int), new(string), new(byte)} }},
		{"%*d%%%g", func() []any { return []any{new(float64)} }},
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, n, ok := ScanFloat(s)
		if n < 0 || n > len(s) || (!ok && (n != 0 || v != 0)) {
			t.Fatalf("ScanFloat(%q) = %v, %d, %v", s, v, n, ok)
		}
		for _, ft := range formats {
			args := ft.args()
			if got := Sscanf(s, ft.f, args...); got < -1 || got > len(args) {
				t.Fatalf("Sscanf(%q, %q) = %d", s, ft.f, got)
			}
		}
	})
}
