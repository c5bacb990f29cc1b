// SPDX-License-Identifier: GPL-2.0-or-later

// Command wirefilter is a VDE cable with impairments (loss, bursts, duplication, delay and jitter,
// bandwidth, interface speed, channel buffer, MTU, noise, Markov states), a drop-in for vde2's
// wirefilter, driven by the same options and management console.
//
//	wirefilter [OPTIONS]                      stdin → stdout, or both ways as a dpipe middle command
//	wirefilter [OPTIONS] -v URL_L:URL_R       between two vplug URLs ("-" is stdin/stdout)
//	wirefilter [OPTIONS] URL_L URL_R
//
// Options: -h -f RCFILE -l LOSS -L BURST -d DELAY -D DUP -b BAND -s SPEED -c CAPACITY -n NOISE
// -m MTU -N -M SOCK --mgmtmode MODE --daemon --pidfile FILE --blink SOCK --blinkid ID --seed N.
// Long options may be written with one dash (-delay). See man/wirefilter.1.
package main

import "github.com/govde/govde/internal/cmdutil"

func main() { cmdutil.Main(newApp()) }
