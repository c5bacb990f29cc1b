// SPDX-License-Identifier: GPL-2.0-or-later

// Package cmdutil wires a urfave/cli App into a process: the shared App defaults, signal handling,
// error printing and exit codes. Only main packages use it; it is the one place that exits.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/govde/govde/internal/buildinfo"
	"github.com/urfave/cli/v2"
)

// UsageCode is the exit status of a usage error unless the tool chose another one (see UsageError.Code).
const UsageCode = 2

// An ExitError ends the program with Code. Main prints Err as "name: Err" unless Err is nil
// (the program already said what went wrong).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode implements cli.ExitCoder.
func (e *ExitError) ExitCode() int { return e.Code }

// Exitf returns an *ExitError with code and a formatted message.
func Exitf(code int, format string, a ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, a...)}
}

// Exit returns an *ExitError that ends the program with code and prints nothing.
func Exit(code int) error { return &ExitError{Code: code} }

// A UsageError is bad command-line input. Main prints it, and the usage text too when ShowUsage is set,
// and exits with Code (UsageCode when 0).
type UsageError struct {
	Err       error
	Code      int
	ShowUsage bool
}

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, which wraps os.ErrInvalid when made by UsageErrorf.
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode implements cli.ExitCoder.
func (e *UsageError) ExitCode() int {
	if e.Code == 0 {
		return UsageCode
	}
	return e.Code
}

// UsageErrorf returns a *UsageError with a formatted message that wraps os.ErrInvalid.
func UsageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), os.ErrInvalid)}
}

// Message returns the text Main prints for err: the message without the trailing ": invalid argument"
// that UsageErrorf adds for errors.Is.
func Message(err error) string {
	var ue *UsageError
	if errors.As(err, &ue) && errors.Is(ue.Err, os.ErrInvalid) {
		if u := errors.Unwrap(ue.Err); u == os.ErrInvalid {
			if s, ok := strings.CutSuffix(ue.Err.Error(), ": "+os.ErrInvalid.Error()); ok {
				return s
			}
		}
	}
	return err.Error()
}

// NewApp returns an App with the suite's defaults: version from buildinfo, short option combining,
// no help subcommand, flag errors turned into *UsageError, and no os.Exit inside urfave/cli.
func NewApp(name, usage string) *cli.App {
	return &cli.App{
		Name:                   name,
		Usage:                  usage,
		Version:                buildinfo.Version,
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		Writer:                 os.Stdout,
		ErrWriter:              os.Stderr,
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &UsageError{Err: err, ShowUsage: true}
		},
	}
}

// Main runs app with os.Args under a context that SIGINT and SIGTERM cancel, then exits: 0 on success,
// otherwise it prints "name: message" on stderr and exits with the error's code (ExitCoder), or 1.
func Main(app *cli.App) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := app.RunContext(ctx, os.Args)
	stop()
	os.Exit(Report(app, err))
}

// Report prints err the way Main does to app.ErrWriter and returns the exit status for it.
// It is separate from Main so that tests can check both.
func Report(app *cli.App, err error) int {
	if err == nil {
		return 0
	}
	w := app.ErrWriter
	if w == nil {
		w = io.Discard
	}
	name := app.Name
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return ee.Code
	}
	fmt.Fprintf(w, "%s: %s\n", name, Message(err))
	var ue *UsageError
	if errors.As(err, &ue) && ue.ShowUsage {
		fmt.Fprintf(w, "Try '%s --help' for more information.\n", name)
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// ProgName returns the base name the program was invoked as (for compat names such as vde_plug).
func ProgName() string { return filepath.Base(os.Args[0]) }
