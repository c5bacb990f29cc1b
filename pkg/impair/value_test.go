// SPDX-License-Identifier: GPL-2.0-or-later

package impair

import (
	"bufio"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/govde/govde/pkg/mgmt"
)

func TestParseValue(t *testing.T) {
	both := func(v, p float64, a Alg) Setting { return Setting{LR: true, RL: true, Value: Value{v, p, a}} }
	lr := func(v, p float64, a Alg) Setting { return Setting{LR: true, Value: Value{v, p, a}} }
	rl := func(v, p float64, a Alg) Setting { return Setting{RL: true, Value: Value{v, p, a}} }
	node := func(s Setting, n int) Setting { s.Node = n; return s }
	tests := []struct {
		in    string
		nodes int
		want  Setting
	}{
		{"10", 1, both(10, 0, Uniform)},
		{"100+20N", 1, both(100, 20, Normal)},
		{"100+20n", 1, both(100, 20, Normal)},
		{"100+20u", 1, both(100, 20, Uniform)},
		{"LR10", 1, lr(10, 0, Uniform)},
		{"RL5.5", 1, rl(5.5, 0, Uniform)},
		{"128K", 1, both(131072, 0, Uniform)},
		{"64k", 1, both(65536, 0, Uniform)},
		{"1+0.5M", 1, both(1048576, 524288, Uniform)},
		{"2g", 1, both(2<<30, 0, Uniform)},
		{"1+1KN", 1, both(1024, 1024, Normal)},
		{"1KU", 1, both(1024, 0, Uniform)},
		{"LR200", 1, lr(200, 0, Uniform)},
		{"+5", 1, both(5, 0, Uniform)},
		{"RL+3", 1, rl(3, 0, Uniform)},
		{"10 \t\n", 1, both(10, 0, Uniform)},
		{"  10", 1, both(10, 0, Uniform)},
		{"LR 10", 1, lr(10, 0, Uniform)},
		{"10+", 1, both(10, 0, Uniform)},
		{"10+x", 1, both(10, 0, Uniform)},
		{"10%", 1, both(10, 0, Uniform)},     // sscanf ignores what follows the numbers
		{"10UK", 1, both(10240, 0, Uniform)}, // K is taken, then "10U" scans as 10
		{"-5", 1, both(-5, 0, Uniform)},
		{"1e3", 1, both(1000, 0, Uniform)},
		{"0x10", 1, both(16, 0, Uniform)},
		{"10[0]", 1, both(10, 0, Uniform)},
		{"10[2]", 3, node(both(10, 0, Uniform), 2)},
		{"LR10+2N[1]", 2, node(lr(10, 2, Normal), 1)},
		{"10K[1] ", 2, node(both(10240, 0, Uniform), 1)},
		{"10U [1]", 2, node(both(10, 0, Uniform), 1)},
	}
	for _, tt := range tests {
		got, err := ParseValue(tt.in, tt.nodes)
		if err != nil {
			t.Errorf("ParseValue(%q, %d) error %v", tt.in, tt.nodes, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseValue(%q, %d) mismatch (-want +got):\n%s", tt.in, tt.nodes, diff)
		}
	}
}

func TestParseValueErrors(t *testing.T) {
	for _, tt := range []struct {
		in    string
		nodes int
	}{
		{"", 1}, {"   ", 1}, {"abc", 1}, {"U", 1}, {"K", 1}, {"LR", 1}, {"RL-", 1},
		{"LRx", 1}, {"lr10", 1}, {"10[1]", 1}, {"10[-1]", 2}, {"10[x]", 2}, {"10[]", 2}, {"10]", 2},
		{"10[1 ]", 2}, {"[0]", 1}, {"inf", 1}, {"1e400", 1}, {"1e308G", 1}, {"nan", 1}, {"infinity", 1},
	} {
		_, err := ParseValue(tt.in, tt.nodes)
		if err == nil {
			t.Errorf("ParseValue(%q, %d) = nil error, want EINVAL", tt.in, tt.nodes)
			continue
		}
		if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, ErrInvalid) || mgmt.ErrnoOf(err) != syscall.EINVAL {
			t.Errorf("ParseValue(%q) error %v does not carry EINVAL and ErrInvalid", tt.in, err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Input != tt.in {
			t.Errorf("ParseValue(%q) error %#v is not a *ParseError for the input", tt.in, err)
		}
	}
}

// TestValueString checks showinfo's "%g+%g%c" against section 10.5's transcript.
func TestValueString(t *testing.T) {
	for in, want := range map[string]string{
		"100+20N": "100+20N", "LR10": "10+0U", "RL5.5": "5.5+0U", "128K": "131072+0U",
		"1+0.5M": "1.04858e+06+524288U", "64K": "65536+0U", "3": "3+0U", "2": "2+0U",
	} {
		s, err := ParseValue(in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Value.String(); got != want {
			t.Errorf("ParseValue(%q).Value.String() = %q, want %q", in, got, want)
		}
	}
}

// TestAppendGMatchesC compares AppendG with glibc's printf("%g") on the doubles of
// testdata/printf_g.txt, made by testdata/printf_g.c ("%a" exact input, "%g" expected output).
func TestAppendGMatchesC(t *testing.T) {
	f, err := os.Open("testdata/printf_g.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		hex, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		v, err := strconv.ParseFloat(hex, 64)
		if err != nil {
			t.Fatalf("ParseFloat(%q): %v", hex, err)
		}
		if got := FormatG(v); got != want {
			t.Errorf("FormatG(%s) = %q, C gives %q", hex, got, want)
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d cases read", n)
	}
}

func TestFormatGSpecials(t *testing.T) {
	nan := func(neg bool) float64 {
		b := uint64(0x7ff8000000000000)
		if neg {
			b |= 1 << 63
		}
		return math.Float64frombits(b)
	}
	for _, tt := range []struct {
		f    float64
		want string
	}{{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {nan(false), "nan"}, {nan(true), "-nan"}} {
		if got := FormatG(tt.f); got != tt.want {
			t.Errorf("FormatG(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

// FuzzParseValue checks that ParseValue never panics, that errors carry EINVAL, and that a
// successful parse gives finite numbers, a valid node and at least one direction, and survives a
// round trip through its showinfo form.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"10", "100+20N", "LR10", "RL5.5", "1+0.5M", "10[1]", "", "]", "[", "LR", "1e999K"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, nodes int) {
		nodes = nodes%8 + 1
		if nodes < 1 {
			nodes += 8
		}
		st, err := ParseValue(s, nodes)
		if err != nil {
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("ParseValue(%q) error %v without EINVAL", s, err)
			}
			return
		}
		if !finite(st.Value.Value) || !finite(st.Value.Plus) || st.Node < 0 || st.Node >= nodes || !(st.LR || st.RL) {
			t.Fatalf("ParseValue(%q) = %+v", s, st)
		}
		if st.Value.Alg != Uniform && st.Value.Alg != Normal {
			t.Fatalf("ParseValue(%q) alg %d", s, st.Value.Alg)
		}
		_ = st.Value.String()
	})
}
