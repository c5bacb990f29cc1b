// SPDX-License-Identifier: GPL-2.0-or-later

// Package buildinfo holds the version stamped into every govde binary.
package buildinfo

// Version is set at link time by the Makefile:
//
//	-ldflags "-X github.com/govde/govde/internal/buildinfo.Version=$(VERSION)"
var Version = "devel"

// Name is the suite name shown in banners and version texts.
const Name = "govde"
