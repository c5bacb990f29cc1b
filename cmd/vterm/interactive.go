// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chzyer/readline"
	"github.com/govde/govde/internal/cmdutil"
	"github.com/govde/govde/pkg/mgmt"
)

// runInteractive is the vdeterm-like console: readline editing, per-socket history, completion learned from
// the peer's help, asynchronous lines printed above the line being edited.
func runInteractive(cfg config, ew io.Writer) error {
	asyncc := make(chan string, 1024)
	c, err := dial(cfg, ew, func(l string) {
		select {
		case asyncc <- l:
		default: // the terminal cannot keep up: drop rather than stall the session
		}
	})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, l := range c.Banner() {
		fmt.Fprintln(os.Stdout, l)
	}
	comp := &completer{}
	if r, err := c.Do("help"); err == nil && r.OK() {
		comp.entries = mgmt.ParseHelp(r.Data)
	}
	if _, ok := comp.lookup("debug/list"); ok {
		if r, err := c.Do("debug/list"); err == nil && r.OK() {
			comp.debugCats = parseDebugList(r.Data)
		}
	}
	hist, err := historyPath(cfg.sock, os.Getenv)
	if err != nil {
		fmt.Fprintf(ew, "%s: no history: %v\n", cfg.name, err)
	}
	// readline 1.5.1's Close waits for its terminal reader, blocked in a read of stdin until a key is pressed,
	// unless the stdin it reads through is closed first: keep that handle.
	stdin := readline.NewCancelableStdin(os.Stdin)
	rl, err := readline.NewEx(&readline.Config{
		Stdin:                  stdin,
		Prompt:                 promptFor(c.Prompt(), cfg.sock),
		HistoryFile:            hist,
		HistoryLimit:           1000,
		HistorySearchFold:      true,
		DisableAutoSaveHistory: true, // saved trimmed, below
		AutoComplete:           comp,
		InterruptPrompt:        "^C",
		EOFPrompt:              "logout",
	})
	if err != nil {
		stdin.Close()
		return cmdutil.Exitf(ExitSession, "terminal: %v", err)
	}
	closeTerm := sync.OnceFunc(func() { stdin.Close(); rl.Close() })
	st := newStyle(os.Getenv)
	out := rl.Stdout()
	comp.hint = func(s string) { go fmt.Fprintln(out, st.hint(s)) } // not from the completer's goroutine

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		peerGone atomic.Bool
	)
	wg.Go(func() {
		for {
			select {
			case l := <-asyncc:
				fmt.Fprintln(out, st.debug(l))
			case <-c.Done():
				peerGone.Store(true)
				closeTerm() // unblocks Readline
				return
			case <-stop:
				return
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
		closeTerm()
	}()

	for {
		line, err := rl.Readline()
		if peerGone.Load() {
			fmt.Fprintf(ew, "%s: connection closed by the peer\n", cfg.name)
			return cmdutil.Exit(ExitSession)
		}
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // Ctrl-D: log out
			return nil
		}
		cmd := strings.TrimSpace(line)
		if cmd == "" {
			continue
		}
		rl.SaveHistory(cmd)        // in memory, and in the file when there is one
		if word(cmd) == "logout" { // handled here, as vdeterm does: closing the socket ends the session
			return nil
		}
		r, err := c.Do(cmd)
		switch {
		case err == nil:
		case errors.Is(err, mgmt.ErrBadCommand), errors.Is(err, mgmt.ErrReplyTimeout):
			fmt.Fprintln(out, st.err(err.Error()))
			continue
		case word(cmd) == "shutdown":
			return nil
		default:
			fmt.Fprintf(ew, "%s: %v\n", cfg.name, err)
			return cmdutil.Exit(ExitSession)
		}
		for _, l := range r.Data {
			fmt.Fprintln(out, l)
		}
		switch {
		case r.Ended():
			return nil
		case !r.OK():
			fmt.Fprintln(out, st.err(describe(r)))
		case r.Text != "":
			fmt.Fprintln(out, r.Text)
		}
	}
}

// promptFor builds vdeterm's prompt from the peer's: "vde$ " on /tmp/s.mgmt gives "vde[/tmp/s.mgmt]: ".
func promptFor(peer, sock string) string {
	base := strings.TrimSuffix(strings.TrimRight(peer, " "), "$")
	return base + "[" + sock + "]: "
}

// historyPath returns the history file for sock, creating it (mode 0600) and its directory (0700):
// $XDG_STATE_HOME/govde/vterm/history-<escaped absolute socket path>, with ~/.local/state when
// XDG_STATE_HOME is unset or relative.
func historyPath(sock string, getenv func(string) string) (string, error) {
	abs, err := filepath.Abs(sock)
	if err != nil {
		return "", err
	}
	base := getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_STATE_HOME nor HOME is set")
		}
		base = filepath.Join(home, ".local", "state")
	}
	dir := filepath.Join(base, "govde", "vterm")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := url.PathEscape(abs)
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(abs))
		name = hex.EncodeToString(sum[:16])
	}
	path := filepath.Join(dir, "history-"+name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) // private before readline opens it
	if err != nil {
		return "", err
	}
	f.Close()
	return path, nil
}

// A style renders the console's own lines, in colour on terminals unless NO_COLOR is set or TERM is dumb.
type style struct{ color bool }

func newStyle(getenv func(string) string) style {
	return style{color: getenv("NO_COLOR") == "" && getenv("TERM") != "dumb" && getenv("TERM") != ""}
}

func (s style) paint(code, text string) string {
	if !s.color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// err renders a failure, always with an "Error: " prefix so that it stands out without colour too.
func (s style) err(text string) string { return s.paint("1;31", "Error: "+text) }

// debug renders an asynchronous line as vdeterm does: "** DBG MSG: " and the line without its code.
func (s style) debug(line string) string {
	msg := line
	if len(line) > 5 {
		msg = line[5:]
	}
	return s.paint("33", "** DBG MSG: "+msg)
}

func (s style) hint(text string) string { return s.paint("2", text) }
