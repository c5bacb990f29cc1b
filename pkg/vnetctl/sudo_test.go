// SPDX-License-Identifier: GPL-2.0-or-later

package vnetctl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSudo checks that -Z and USE_SUDO re-run create through sudo only when not root, and never for
// the actions that change nothing.
func TestSudo(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	fake := "#!/bin/sh\necho \"$0 $*\" >>" + log + "\n"
	for _, n := range []string{"sudo", "ksu"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	for _, tt := range []struct {
		euid   int
		action Action
		suOpts string
		env    map[string]string
		want   string // "" when nothing may be run
	}{
		{0, Create, "ALL", nil, ""},
		{0, Cancel, "SUDO", map[string]string{"USE_SUDO": "1"}, ""},
		{1000, List, "SUDO", nil, ""},
		{1000, Create, "", nil, ""},
		{1000, Create, "SUDO", nil, "sudo -n"},
		{1000, Cancel, "", map[string]string{"USE_SUDO": "1"}, "sudo -n"},
		{1000, Create, "KSU", nil, "ksu root"},
		{1000, Create, "ALL,NOKSU", nil, "sudo -n"},
	} {
		os.Remove(log)
		var out bytes.Buffer
		s := &state{Config: Config{Action: tt.action, SuOpts: tt.suOpts}, ctx: context.Background(),
			env: Env{Euid: tt.euid, Stdout: &out, Stderr: &out, Getenv: func(k string) string { return tt.env[k] }}}
		s.log = &logger{w: &out}
		_, ran := s.sudo([]string{string(tt.action)})
		b, _ := os.ReadFile(log)
		if tt.want == "" {
			if ran || len(b) != 0 {
				t.Errorf("euid %d %s -Z %q: ran %q, want nothing", tt.euid, tt.action, tt.suOpts, b)
			}
			continue
		}
		if !ran || !strings.Contains(string(b), tt.want) {
			t.Errorf("euid %d %s -Z %q: ran %q, want %q", tt.euid, tt.action, tt.suOpts, b, tt.want)
		}
	}
}

// TestMissingTool: create exits 2 when the tunctl or switch to run cannot be found.
func TestMissingTool(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"VDE_TUNCTL", "VDE_SWITCH"} {
		env := map[string]string{"USER": "root", "CTYS_SOCKBASE": dir, v: filepath.Join(dir, "no-such-tool")}
		code, _, errs := runVnetctl(t, env, "create")
		if code != 2 || !strings.Contains(errs, "Cannot get pathname for VDE tool") {
			t.Errorf("%s missing: exit %d, want 2\n%s", v, code, errs)
		}
	}
}
