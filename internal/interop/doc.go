// SPDX-License-Identifier: GPL-2.0-or-later

// Package interop holds tests only: the real VDE peers (vde_plug, vde_plug2tap, wirefilter -v, unixterm,
// QEMU's -netdev vde and a second vde_switch) run against a switch, and each test is a table over the
// switch binaries, the reference vde_switch (which proves the test itself) and our vswitch (skipped with a
// clear message while cmd/vswitch does not build).
//
// Most tests need root: hosts are network namespaces with a TAP made by vde_plug2tap, addressed from
// 198.18.0.0/15, and everything a test makes is removed when it ends. Run them with
//
//	make test-root
//
// or, for this package alone, as root: go test -count=1 ./internal/interop/
package interop
