// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/mgmt"
)

// runCommands runs every command line of in (blank lines and # comments skipped) in one session, printing
// data lines (or JSON objects) on w. It returns nil when all succeeded, else an exit with the errno of the
// first failure (each failure is reported on ew); a session failure exits with ExitSession at once.
// "logout" ends the run without being sent; "shutdown" is sent and ends it.
func runCommands(cfg config, in io.Reader, w, ew io.Writer) error {
	c, err := dial(cfg, ew, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	first := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if cmd == "" || cmd[0] == '#' {
			continue
		}
		if word(cmd) == "logout" {
			break
		}
		r, err := c.Do(cmd)
		if err != nil {
			bw.Flush()
			return cmdutil.Exitf(ExitSession, "%v", err)
		}
		if cfg.json {
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else {
			for _, l := range r.Data {
				bw.WriteString(l)
				bw.WriteByte('\n')
			}
		}
		if !r.OK() {
			bw.Flush()
			fmt.Fprintf(ew, "%s: %q failed: %s\n", cfg.name, cmd, describe(r))
			if first == 0 {
				first = exitStatus(r.Errno())
			}
		}
		if r.Ended() {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return cmdutil.Exitf(ExitSession, "reading commands: %v", err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if first != 0 {
		return cmdutil.Exit(first)
	}
	return nil
}

// word returns the first word of cmd.
func word(cmd string) string {
	if f := strings.Fields(cmd); len(f) > 0 {
		return f[0]
	}
	return ""
}

// describe renders a failed result as "Invalid argument (1022)".
func describe(r mgmt.Reply) string {
	code := fmt.Sprintf("%d", r.Code)
	if r.Code == 999 { // wirefilter's printf("1%03d", -1)
		code = "1-01"
	}
	if r.Text == "" {
		return code
	}
	return r.Text + " (" + code + ")"
}

// exitStatus maps a result errno to an exit status: the errno itself, 255 for -1 or anything out of range.
func exitStatus(errno int) int {
	if errno <= 0 || errno > 254 {
		return ExitSession
	}
	return errno
}
