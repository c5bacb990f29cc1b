// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package netctl
