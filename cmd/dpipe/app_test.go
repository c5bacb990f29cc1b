// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/dpipe"
)

// runApp runs the app in-process with runPipeline replaced; it returns the exit status Main would use,
// the output, and the pipeline handed to runPipeline (nil if not called).
func runApp(t *testing.T, status int, args ...string) (int, string, *dpipe.Pipeline) {
	t.Helper()
	var got *dpipe.Pipeline
	saved := runPipeline
	runPipeline = func(_ context.Context, p dpipe.Pipeline) error {
		got = &p
		if status != 0 {
			return cmdutil.Exit(status)
		}
		return nil
	}
	defer func() { runPipeline = saved }()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"dpipe"}, args...))
	return cmdutil.Report(app, err), out.String(), got
}

func TestAppHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-d", "--help", "cat", "="}} {
		code, out, got := runApp(t, 0, args...)
		if code != 0 || out != dpipe.Usage || got != nil {
			t.Errorf("dpipe %q: status %d, ran %v, output\n%s\nwant status 0, not run, output = Usage", args, code, got != nil, out)
		}
	}
}

func TestAppUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "dpipe: missing commands: want at least cmd1 = cmd2"},
		{[]string{"cat", "="}, `dpipe: no command after "=" (argument 2)`},
		{[]string{"cat", "=}", "cat", "{=", "cat"}, `dpipe: "{=" (argument 4) does not close "=}" (argument 2): want "}="`},
		{[]string{"-x", "cat", "=", "cat"}, `dpipe: invalid option -- 'x'`},
		{[]string{"--pidfile"}, `dpipe: option '--pidfile' requires an argument`},
	}
	for _, tc := range tests {
		code, out, got := runApp(t, 0, tc.args...)
		if got != nil {
			t.Errorf("dpipe %q: the pipeline ran", tc.args)
		}
		if code != cmdutil.UsageCode {
			t.Errorf("dpipe %q: status %d, want %d", tc.args, code, cmdutil.UsageCode)
		}
		if want := tc.want + "\n" + dpipe.Usage; out != want {
			t.Errorf("dpipe %q: output\n%s\nwant\n%s", tc.args, out, want)
		}
	}
}

func TestAppRuns(t *testing.T) {
	code, out, got := runApp(t, 7, "-p", "pid", "-n", "vde_plug", "/s1", "=", "vde_plug", "-m", "0660", "/s2")
	if code != 7 || out != "" {
		t.Errorf("status %d, output %q; want 7 and no output", code, out)
	}
	want := &dpipe.Pipeline{
		Options: dpipe.Options{PidFile: "pid", NoWrap: true},
		Stages:  []dpipe.Stage{{Args: []string{"vde_plug", "/s1"}}, {Args: []string{"vde_plug", "-m", "0660", "/s2"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pipeline mismatch (-want +got):\n%s", diff)
	}
	if code, _, _ := runApp(t, 0, "a", "=", "b"); code != 0 {
		t.Errorf("status %d, want 0", code)
	}
}

func readManPage(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "man", "dpipe.1"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUsageMatchesManPage(t *testing.T) {
	man := readManPage(t)
	for _, opt := range []string{`\-p`, `\-\-pidfile`, `\-P`, `\-\-pgrpfile`, `\-d`, `\-\-daemon`, `\-n`, `\-\-nowrapproc`,
		`\-N`, `\-\-nowrapnoclean`, `\-h`, `\-\-help`, "ALTERNATE_STDIN", "ALTERNATE_STDOUT", `=}`, `}=`, `={`, `{=`} {
		if !strings.Contains(man, opt) {
			t.Errorf("man/dpipe.1 does not mention %s", opt)
		}
		plain := strings.ReplaceAll(opt, `\-`, "-")
		if !strings.Contains(dpipe.Usage, plain) {
			t.Errorf("--help does not mention %s", plain)
		}
	}
}
