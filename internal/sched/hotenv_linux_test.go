// SPDX-License-Identifier: GPL-2.0-or-later

package sched_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/internal/testutil"
)

// TestHotEnvInTools: the tools whose loops may go hot (see sched.Waiter) refuse a bad GOVDE_HOT with a
// one-line error naming the value and exit status 1, before they open anything.
func TestHotEnvInTools(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four tools")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		tool string
		args []string
	}{
		{"vswitch", []string{"-s", filepath.Join(dir, "sw")}},
		{"plug2tap", []string{"-s", filepath.Join(dir, "sw"), "tap0"}},
		{"vplug", []string{"null://"}},
		{"wirefilter", nil},
	} {
		for _, v := range []string{"fast", "-1s"} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			cmd := exec.CommandContext(ctx, testutil.Bin(t, c.tool), c.args...)
			cmd.Env = append(os.Environ(), "GOVDE_HOT="+v)
			out, err := cmd.CombinedOutput()
			cancel()
			want := c.tool + `: GOVDE_HOT="` + v + `": want a duration such as 1.5s or 10ms, or 0`
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != want {
				t.Errorf("%s with GOVDE_HOT=%s: %v, output %q; want exit status 1 and %q", c.tool, v, err, out, want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "sw")); !os.IsNotExist(err) {
			t.Errorf("%s with a bad GOVDE_HOT left %s behind (%v)", c.tool, filepath.Join(dir, "sw"), err)
		}
	}
}
