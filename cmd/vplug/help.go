// SPDX-License-Identifier: GPL-2.0-or-later

package main

import "strings"

// usageText is printed by -h; keep it true to man/vplug.1. NAME stands for the program name.
const usageText = `Usage:
  NAME [OPTIONS]
  NAME [OPTIONS] URL
  NAME [OPTIONS] URL URL
  NAME [OPTIONS] = COMMAND [ARGS...]
  NAME [OPTIONS] URL = COMMAND [ARGS...]
Join a VDE plug URL to standard input/output (2-byte length-framed stream),
to a second URL, or to a command's standard input/output.
An omitted or empty URL is the default switch: ~/.vdeplug/default,
else ~/.vde2/default.switch, else /var/run/vde.ctl or /tmp/vde.ctl.
Option parsing stops at the first '='.

Options:
  -d, --daemon          run in the background, detached (stdio on /dev/null)
  -p, --pidfile FILE    write the process id to FILE, which must not exist;
                        remove it at exit
  -l, --log             log START/STOP on syslog
  -L, --iplog           like -l, and log the IP source addresses seen
  -g, --group GROUP     group of the sockets made for the first URL
  -G, --group2 GROUP    like -g, for the second URL
  -m, --mod MODE        octal permission of the sockets made for the first URL
                        (default 0700)
  -M, --mod2 MODE       like -m, for the second URL
  -D, --descr DESCR     description shown by the switch (default "vplug:"),
                        followed by " user=NAME pid=PID"
      --port N          switch port for the first URL (obsolete: use URL[N])
      --port2 N         like --port, for the second URL
  -h, --help            show this help
  -c vde_plug           run as a user's login shell: log START/STOP (and IPs
                        for group vdeplug_iplog); any other -c COMMAND, or
                        argv[0] starting with '-', is refused

URLs:
  PATH, vde://DIR[N/mode=MODE/group=GROUP/port=N/portgroup=NAME]
                        a VDE switch; [0] asks for management port 0
  ptp://PATH[mode=MODE/group=GROUP]
                        point to point over unix datagram sockets PATH, PATH+
  cmd://'COMMAND ARGS'  a co-process speaking the 2-byte stream on stdin/stdout
  tap://IFNAME          a Linux TAP interface
  udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT
                        one frame per UDP datagram
  null://               drop everything, receive nothing
  qemu+unix://PATH[server], qemu+tcp://HOST:PORT[server]
                        QEMU -netdev stream (4-byte length framing), as client,
                        or as server with [server]
  hub://[DIR][mode=MODE/dirmode=MODE/grp=GROUP], switch://[DIR][hashsize=N/
  expiretime=SECS/hashseed=N/...], multi://[DIR], bonding://[DIR]
                        be a hub (switch, ...) serving DIR/ctl to VDE clients;
                        DIR defaults to /tmp/vdenode_USER
  seqpacket://FD        an inherited SOCK_SEQPACKET socket on descriptor FD
`

func usage(name string) string { return strings.ReplaceAll(usageText, "NAME", name) }
