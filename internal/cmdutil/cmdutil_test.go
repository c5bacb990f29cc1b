// SPDX-License-Identifier: GPL-2.0-or-later

package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestReport(t *testing.T) {
	tests := []struct {
		err      error
		wantCode int
		wantOut  string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "t: boom\n"},
		{Exitf(255, "vde_open %s: %s", "/x", "No such file or directory"), 255, "t: vde_open /x: No such file or directory\n"},
		{Exit(7), 7, ""},
		{UsageErrorf("-n %d: want 1..%d", 0, 4096), 2, "t: -n 0: want 1..4096\n"},
		{&UsageError{Err: errors.New("flag provided but not defined: -z"), ShowUsage: true, Code: 1}, 1,
			"t: flag provided but not defined: -z\nTry 't --help' for more information.\n"},
		{fmt.Errorf("wrapped: %w", Exitf(3, "inner")), 3, "t: wrapped: inner\n"},
	}
	for _, tt := range tests {
		app := NewApp("t", "")
		var out bytes.Buffer
		app.ErrWriter = &out
		if got := Report(app, tt.err); got != tt.wantCode || out.String() != tt.wantOut {
			t.Errorf("Report(%v) = %d, %q; want %d, %q", tt.err, got, out.String(), tt.wantCode, tt.wantOut)
		}
	}
	if !errors.Is(UsageErrorf("x"), os.ErrInvalid) {
		t.Error("UsageErrorf does not wrap os.ErrInvalid")
	}
}
