// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package wirefilter

import (
	"errors"

	"github.com/govde/govde/pkg/frame"
)

// ErrNotPipe is returned by OpenStdio when stdin or stdout is not a pipe (or a socket).
var ErrNotPipe = errors.New("Error on stdin: it is not a pipe")

// Stdio is the pair of sides of the stdin/stdout modes.
type Stdio struct {
	L, R          frame.Endpoint
	Bidirectional bool
}

// BUG(wirefilter): the stdin/stdout modes need Linux; elsewhere use -v with two plug URLs.

// OpenStdio is not supported on this system.
func OpenStdio(func(string) string) (*Stdio, error) {
	return nil, errors.New("wirefilter: the stdin/stdout modes need Linux; use -v URL_L:URL_R")
}

// Close does nothing.
func (s *Stdio) Close() error { return nil }
