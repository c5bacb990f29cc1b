// SPDX-License-Identifier: GPL-2.0-or-later

package console

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/frame/frametest"
	"github.com/govde/govde/pkg/vswitch"
)

// Table tests of the command handlers: a Switch and its Console in-process, command lines run as
// an rc file runs them (Exec with no session), replies compared byte for byte. Each table runs in
// a synctest bubble, so ages and uptimes are exact (0 unless a step sleeps).

var testMAC = frame.MAC{2, 0, 0x5e, 0, 0, 1}

// Replies.
const (
	ok         = "1000 Success\n"
	enoent     = "1002 No such file or directory\n"
	enxio      = "1006 No such device or address\n"
	ebadf      = "1009 Bad file descriptor\n"
	eexist     = "1017 File exists\n"
	enodev     = "1019 No such device\n"
	einval     = "1022 Invalid argument\n"
	enospc     = "1028 No space left on device\n"
	enosys     = "1038 Function not implemented\n"
	eopnotsupp = "1095 Operation not supported\n"
	eaddrinuse = "1098 Address already in use\n"
)

// data is the reply of a data command: body in a data block, then the result line.
func data(body string, result ...string) string {
	r := ok
	if len(result) > 0 {
		r = result[0]
	}
	return "0000 DATA END WITH '.'\n" + body + ".\n" + r
}

// A step is one command line and its expected reply, or an action on the switch (do).
type step struct {
	line string
	want string
	do   func(r *tableRig)
}

type tableRig struct {
	t     *testing.T
	sw    *vswitch.Switch
	c     *Console
	peers map[int]*frametest.Endpoint // by port

	logMu sync.Mutex
	logs  []string
}

func newTableRig(t *testing.T, numPorts int) *tableRig {
	t.Helper()
	r := &tableRig{t: t, peers: map[int]*frametest.Endpoint{}}
	sw, err := vswitch.New(vswitch.Config{NumPorts: numPorts, MAC: testMAC})
	if err != nil {
		t.Fatal(err)
	}
	r.sw = sw
	r.c = New(Config{Switch: sw, CtlDir: "/run/sw", CtlMode: 0o660, MgmtPath: "/run/sw.mgmt", MgmtMode: 0o600,
		Logf: func(f string, a ...any) {
			r.logMu.Lock()
			r.logs = append(r.logs, fmt.Sprintf(f, a...))
			r.logMu.Unlock()
		}})
	return r
}

func (r *tableRig) close() {
	r.c.Close()
	r.sw.Close()
}

// connect attaches a client on port n (0: any), described as "hN", and returns its port.
func (r *tableRig) connect(n int, descr string) int {
	r.t.Helper()
	a, b := frametest.Pipe(64)
	p, _, err := r.sw.AddEndpoint(a, n, vswitch.ModuleUnix, descr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.peers[p] = b
	return p
}

// disconnect closes the client of port n and waits until the switch has noticed.
func (r *tableRig) disconnect(n int) {
	r.peers[n].Close()
	synctest.Wait()
}

// send makes the client of port n send a broadcast from src and waits until it is forwarded.
func (r *tableRig) send(n int, src frame.MAC) {
	r.t.Helper()
	f := make([]byte, 60)
	copy(f, frame.Broadcast[:])
	copy(f[6:], src[:])
	if err := r.peers[n].WriteFrame(f); err != nil {
		r.t.Fatal(err)
	}
	synctest.Wait()
}

func runTable(t *testing.T, numPorts int, steps []step) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		r := newTableRig(t, numPorts)
		defer r.close()
		for i, s := range steps {
			if s.do != nil {
				s.do(r)
				continue
			}
			out, _ := r.c.Exec(nil, s.line)
			if string(out) != s.want {
				t.Errorf("step %d: %q =\n%s\nwant\n%s", i, s.line, out, s.want)
			}
		}
	})
}

func act(f func(r *tableRig)) step { return step{do: f} }

func portBlock(n, vlan int, active, notInPool bool, user, group string, eps ...string) string {
	in, notIn := "IN", "NOT "
	if active {
		in = ""
	}
	if !notInPool {
		notIn = ""
	}
	s := fmt.Sprintf("Port %04d untagged_vlan=%04d %sACTIVE - %sUnnamed Allocatable\n", n, vlan, in, notIn) +
		fmt.Sprintf(" Current User: NONE Access Control: (User: %s - Group: %s)\n", user, group) +
		" IN:  pkts          0          bytes                    0\n" +
		" OUT: pkts          0          bytes                    0\n"
	for _, e := range eps {
		s += e
	}
	return s
}

func TestPortCommands(t *testing.T) {
	inactive3 := portBlock(3, 0, false, true, "NONE", "NONE")
	runTable(t, 8, []step{
		{"port/showinfo", data("Numports=8\nHUB=false\ncounters=true\n"), nil},
		{"port/print", data(""), nil},
		{"port/create 3", ok, nil},
		{"port/create 3", eexist, nil},
		{"port/create 8", einval, nil},
		{"port/create -1", einval, nil},
		{"port/createauto", data("Port 0001\n"), nil},
		{"port/print 3", data("", enxio), nil}, // inactive
		{"port/allprint 3", data(inactive3), nil},
		{"port/allprint 5", data("", enxio), nil}, // not allocated
		{"port/print 8", data("", einval), nil},
		{"port/print -1", data("", einval), nil},
		{"port/allocatable 3 1", ok, nil},
		{"port/allocatable 3", einval, nil},
		{"port/allocatable 6 1", enxio, nil},
		{"port/allocatable 9 1", einval, nil},
		{"port/setuser 3 0", ok, nil},
		{"port/setgroup 3 0", ok, nil},
		{"port/allprint 3", data(portBlock(3, 0, false, false, "root", "root")), nil},
		{"port/setuser 3 NONE", ok, nil},
		{"port/setgroup 3 ANY", ok, nil},
		{"port/setuser 3", einval, nil},
		{"port/setuser 3 no-such-user-x", einval, nil},
		{"port/setuser 6 root", enxio, nil},
		{"port/setgroup 9 root", einval, nil},
		{"port/allprint 3", data(portBlock(3, 0, false, false, "NONE", "NONE")), nil},
		{"port/sethub 1", ok, nil},
		{"port/showinfo", data("Numports=8\nHUB=true\ncounters=true\n"), nil},
		{"port/sethub 0", ok, nil},
		act(func(r *tableRig) { r.connect(2, "client two") }),
		{"port/print", data(portBlock(2, 0, true, false, "NONE", "NONE",
			"  -- endpoint ID 0001 module unix prog   : client two\n")), nil},
		{"port/remove 2", eaddrinuse, nil},
		{"port/setnumports 2", eaddrinuse, nil},
		{"port/setnumports 0", einval, nil},
		{"port/epclose 2 7", enxio, nil},
		{"port/epclose 2", einval, nil},
		{"port/epclose 9 1", einval, nil},
		{"port/resetcounter", ok, nil},
		{"port/resetcounter 5", ok, nil}, // unallocated: not an error, as in the reference
		{"port/resetcounter 8", einval, nil},
		{"port/epclose 2 1", ok, nil},
		act(func(*tableRig) { synctest.Wait() }),
		{"port/print", data(""), nil},
		{"port/remove 2", ok, nil},
		{"port/remove 2", enxio, nil},
		{"port/remove 99", einval, nil},
		{"port/setnumports 4", ok, nil},
		{"port/showinfo", data("Numports=4\nHUB=false\ncounters=true\n"), nil},
		{"port/create 2", ok, nil},
		{"port/create 1", eexist, nil},
		{"port/createauto", data("", enospc), nil},
	})
}

func TestVLANCommands(t *testing.T) {
	runTable(t, 8, []step{
		{"vlan/create 5", ok, nil},
		{"vlan/create 5", eexist, nil},
		{"vlan/create 0", einval, nil},
		{"vlan/create 4094", einval, nil},
		{"vlan/create", einval, nil},
		{"vlan/print", data("VLAN 0000\nVLAN 0005\n"), nil},
		{"vlan/print 7", data("", enxio), nil},
		{"vlan/print 4094", data("", einval), nil},
		{"vlan/print -1", data("", einval), nil},
		{"vlan/allprint 0", data("", einval), nil}, // allprint starts at VLAN 1
		{"vlan/addport 5 2", enxio, nil},           // port 2 not allocated
		{"vlan/addport 9 1", enxio, nil},           // VLAN 9 does not exist
		{"vlan/addport 5", einval, nil},
		{"vlan/addport 5 99", einval, nil},
		act(func(r *tableRig) { r.connect(2, "b") }),
		{"vlan/addport 5 2", ok, nil},
		{"vlan/addport 5 2", ok, nil}, // again: not an error
		{"vlan/print 5", data("VLAN 0005\n -- Port 0002 tagged=1 active=1 status=Forwarding\n"), nil},
		{"vlan/print", data("VLAN 0000\n -- Port 0002 tagged=0 active=1 status=Forwarding\n" +
			"VLAN 0005\n -- Port 0002 tagged=1 active=1 status=Forwarding\n"), nil},
		act(func(r *tableRig) { r.disconnect(2) }),
		{"vlan/print 5", data("VLAN 0005\n"), nil},
		{"vlan/allprint 5", data("VLAN 0005\n -- Port 0002 tagged=1 active=0 status=Learning\n"), nil},
		{"vlan/remove 5", eaddrinuse, nil},
		{"vlan/delport 5 2", ok, nil},
		{"vlan/delport 5 2", ok, nil}, // not a member: nothing to do
		{"vlan/delport 5 3", enxio, nil},
		{"vlan/remove 5", ok, nil},
		{"vlan/remove 5", enxio, nil},
		{"vlan/remove 0", eaddrinuse, nil}, // port 2 is in VLAN 0
		{"vlan/remove 4094", enxio, nil},
		{"vlan/remove 4095", einval, nil},
		{"port/setvlan 2 5", enxio, nil},
		{"port/setvlan 2 4094", enxio, nil},
		{"port/setvlan 2 4096", einval, nil},
		{"port/setvlan 2", einval, nil},
		{"vlan/create 6", ok, nil},
		{"port/setvlan 2 6", ok, nil},
		{"vlan/allprint", data("VLAN 0000\nVLAN 0006\n -- Port 0002 tagged=0 active=0 status=Learning\n"), nil},
		{"port/setvlan 2 4095", ok, nil}, // no untagged VLAN
		{"port/allprint 2", data(portBlock(2, 4095, false, false, "NONE", "NONE")), nil},
	})
}

func TestHashCommands(t *testing.T) {
	src := frame.MAC{2, 0, 0, 0, 0, 0xa1}
	runTable(t, 8, []step{
		{"hash/showinfo", data("Hash size 128\nGC interval 2 secs\nGC expire 100 secs\nMin persistence 3 secs\n"), nil},
		{"hash/setsize 0", einval, nil},
		{"hash/setgcint 0", einval, nil},
		{"hash/setexpire -1", einval, nil},
		{"hash/setminper -1", einval, nil},
		{"hash/setsize 100", ok, nil}, // rounded up, with a log line
		{"hash/setgcint 10", ok, nil},
		{"hash/setexpire 50", ok, nil},
		{"hash/setminper 0", ok, nil},
		{"hash/showinfo", data("Hash size 128\nGC interval 10 secs\nGC expire 50 secs\nMin persistence 0 secs\n"), nil},
		{"hash/print", data(""), nil},
		act(func(r *tableRig) {
			r.connect(1, "a")
			r.connect(2, "b")
			r.send(1, src)
			if _, found := r.sw.FindHash(src, 0); !found {
				r.t.Fatal("source MAC not learned")
			}
			r.logMu.Lock()
			defer r.logMu.Unlock()
			if want := "Hash size must be a power of 2. 100 rounded to 128"; len(r.logs) != 1 || r.logs[0] != want {
				r.t.Errorf("logs = %q, want [%q]", r.logs, want)
			}
		}),
		{"hash/find 02:00:00:00:00:09", data("", enodev), nil},
		{"hash/find 02:00:00:00:00:a1 5000", data("", enodev), nil},
		{"hash/find zz", data("", einval), nil},
		{"hash/find 02:00:00", data("", einval), nil},
	})
	// The learned entry's reply depends on its bucket: check it in a second table.
	runTable(t, 8, []step{
		act(func(r *tableRig) {
			r.connect(1, "a")
			r.connect(2, "b")
			r.send(1, src)
			e, _ := r.sw.FindHash(src, 0)
			entry := fmt.Sprintf("Hash: %04d Addr: 02:00:00:00:00:a1 VLAN 0000 to port: 001  age 0 secs\n", e.Bucket)
			for _, tt := range []struct{ line, want string }{
				{"hash/print", data(entry)},
				{"hash/find 02:00:00:00:00:a1", data(entry)},
				{"hash/find 2.0.0.0.0.a1 0", data(entry)},
				{"hash/find 02:00:00:00:00:a1 3", data("", enodev)},
			} {
				if out, _ := r.c.Exec(nil, tt.line); string(out) != tt.want {
					r.t.Errorf("%q =\n%s\nwant\n%s", tt.line, out, tt.want)
				}
			}
			r.disconnect(1) // the port's entries go with it
			if out, _ := r.c.Exec(nil, "hash/print"); string(out) != data("") {
				r.t.Errorf("hash/print after disconnect =\n%s", out)
			}
		}),
	})
}

// fstpVLAN is fstp/print's block for one VLAN of the test switch (FSTP off, age 0).
func fstpVLAN(vlan, bonusPort, bonusCost int, ports ...string) string {
	s := fmt.Sprintf("FST DATA VLAN %04d ROOTSWITCH FSTP IS DISABLED\n", vlan) +
		" ++ root 80:00:02:00:5e:00:00:01\n ++ designated ff:ff:ff:ff:ff:ff:ff:ff\n" +
		fmt.Sprintf(" ++ rootport 0000 cost 0 age 0 bonusport %04d bonuscost %d\n", bonusPort, bonusCost)
	for _, p := range ports {
		s += p
	}
	return s
}

func fstpPort(n, tagged int, role string) string {
	return fmt.Sprintf(" -- Port %04d tagged=%d portcost=20000000 role=%s\n", n, tagged, role)
}

func TestFSTPCommands(t *testing.T) {
	runTable(t, 8, []step{
		{"fstp/showinfo", data("MAC 02:00:5e:00:00:01 Priority 32768 (0x8000)\nFSTP=false\n"), nil},
		{"fstp/setfstp 1", data(""), nil},
		{"fstp/showinfo", data("MAC 02:00:5e:00:00:01 Priority 32768 (0x8000)\nFSTP=true\n"), nil},
		{"fstp/print", data(strings.Replace(fstpVLAN(0, 0, 0), "ROOTSWITCH FSTP IS DISABLED", "ROOTSWITCH ", 1)), nil},
		{"fstp/setfstp 0", data(""), nil},
		{"fstp/setedge 0 1", einval, nil},
		{"fstp/setedge 9 1 1", enxio, nil},
		{"fstp/setedge 4094 1 1", enxio, nil},
		{"fstp/setedge 4095 1 1", einval, nil},
		{"fstp/setedge 0 99 1", einval, nil},
		{"fstp/bonus 0 1", einval, nil},
		{"fstp/bonus 9 1 5", enxio, nil},
		{"fstp/print 8", data("", enxio), nil},
		{"fstp/print 4094", data("", einval), nil},
		{"fstp/print", data(fstpVLAN(0, 0, 0)), nil},
		{"vlan/create 7", ok, nil},
		act(func(r *tableRig) { r.connect(1, "a"); r.connect(2, "b"); r.connect(3, "c") }),
		{"vlan/addport 7 2", ok, nil},
		{"port/setvlan 3 7", ok, nil},
		{"fstp/setedge 0 1 1", ok, nil},
		{"fstp/setedge 7 3 1", ok, nil},
		{"fstp/setedge 7 2 1", ok, nil}, // tagged: stays Unknown
		{"fstp/bonus 7 3 55", ok, nil},
		{"fstp/print", data(fstpVLAN(0, 0, 0, fstpPort(1, 0, "Edge"), fstpPort(2, 0, "Designated")) +
			fstpVLAN(7, 3, 55, fstpPort(3, 0, "Edge"), fstpPort(2, 1, "Unknown"))), nil},
		{"fstp/setedge 0 1 0", ok, nil},
		{"fstp/print 0", data(fstpVLAN(0, 0, 0, fstpPort(1, 0, "Designated"), fstpPort(2, 0, "Designated"))), nil},
		// A port going inactive loses its edge flags; coming back it is designated.
		act(func(r *tableRig) { r.disconnect(3) }),
		{"fstp/print 7", data(fstpVLAN(7, 3, 55, fstpPort(2, 1, "Unknown"))), nil},
		act(func(r *tableRig) { r.connect(3, "c again") }),
		{"fstp/print 7", data(fstpVLAN(7, 3, 55, fstpPort(3, 0, "Designated"), fstpPort(2, 1, "Unknown"))), nil},
		{"port/sethub 1", ok, nil},
		{"fstp/setfstp 1", data("Can't use fstp in hub mode\n"), nil},
		{"fstp/showinfo", data("MAC 02:00:5e:00:00:01 Priority 32768 (0x8000)\nFSTP=false\n"), nil},
	})
}

func TestMiscCommands(t *testing.T) {
	showinfo := Banner() + "\n" + fmt.Sprintf("pid %d MAC 02:00:5e:00:00:01 uptime 0\n", os.Getpid()) +
		"mgmt /run/sw.mgmt perm 0600\n"
	runTable(t, 8, []step{
		{"showinfo", data(showinfo), nil},
		{"ds/showinfo", data("ctl dir /run/sw\nstd mode 0660\n"), nil},
		{"plugin/list", data(fmt.Sprintf("%-22s %s\n%-22s %s\n", "NAME", "HELP", "------------", "----"), enoent), nil},
		{"plugin/add x.so", eopnotsupp, nil},
		{"plugin/del x", enoent, nil},
		{"nosuch", enosys, nil},
		{"", "", nil},
		{"# a comment", "", nil},
		{"debug/add port", ebadf, nil}, // needs a session (rc files have none)
		{"vlan", enosys, nil},          // a menu header is not a command
	})
}

// TestDebugEventLines: the switch's typed events reach a subscribed session as vde_switch's
// debug lines, formatted by the console.
func TestDebugEventLines(t *testing.T) {
	src := frame.MAC{2, 0, 0, 0, 0, 0xd1}
	for _, tt := range []struct {
		ev   vswitch.Event
		path string
		msg  string
	}{
		{vswitch.Event{Kind: vswitch.EventHashAdd, Port: 1, MAC: src, VLAN: 0x123}, "hash/+", "02:00:00:00:00:d1 VLAN 23:01 Port 1"},
		{vswitch.Event{Kind: vswitch.EventHashDel, Port: 12, MAC: src}, "hash/-", "02:00:00:00:00:d1 VLAN 00:00 Port 12"},
		{vswitch.Event{Kind: vswitch.EventPortAdd, Port: 3}, "port/+", "03"},
		{vswitch.Event{Kind: vswitch.EventPortDel, Port: 103}, "port/-", "103"},
		{vswitch.Event{Kind: vswitch.EventEndpointAdd, Port: 3, Endpoint: 7}, "port/ep/+", "Port 03 FD  7"},
		{vswitch.Event{Kind: vswitch.EventEndpointDel, Port: 3, Endpoint: 17}, "port/ep/-", "Port 03 FD 17"},
		{vswitch.Event{Kind: vswitch.EventPortDescr, Port: 3, Endpoint: 7, Descr: `a "b"`}, "port/descr", `Port 03 FD  7 -> "a "b""`},
	} {
		path, msg, ok := eventLine(tt.ev)
		if !ok || path != tt.path || msg != tt.msg {
			t.Errorf("eventLine(%+v) = %q %q %v, want %q %q", tt.ev, path, msg, ok, tt.path, tt.msg)
		}
	}
	if _, _, ok := eventLine(vswitch.Event{Kind: vswitch.EventMACMoved}); ok {
		t.Error("EventMACMoved has a debug line; vde_switch has no such category")
	}
}

// TestHashLimitCommands: the hidden hash/setmax and hash/stats (ours), and that help lists neither.
func TestHashLimitCommands(t *testing.T) {
	stats := func(entries, max, capacity, refused int) string {
		return data(fmt.Sprintf("entries %d\nmax %d\ncapacity %d\nrefused %d\nexpired 0\nshrunk 0\nmaxstep 0\n",
			entries, max, capacity, refused))
	}
	runTable(t, 8, []step{
		{"hash/stats", stats(0, vswitch.DefaultHashMax, 0, 0), nil},
		{"hash/setmax -1", einval, nil},
		{"hash/setmax 1", ok, nil},
		act(func(r *tableRig) {
			r.connect(1, "a")
			r.connect(2, "b")
			r.send(1, frame.MAC{2, 0, 0, 0, 0, 1})
			r.send(1, frame.MAC{2, 0, 0, 0, 0, 2}) // refused: the table is full
		}),
		{"hash/stats", stats(1, 1, 1, 1), nil},
		{"hash/setmax 0", ok, nil},
		act(func(r *tableRig) { r.send(1, frame.MAC{2, 0, 0, 0, 0, 2}) }),
		{"hash/stats", stats(2, 0, 2, 1), nil},
		act(func(r *tableRig) {
			out, _ := r.c.Exec(nil, "help hash")
			if s := string(out); strings.Contains(s, "setmax") || strings.Contains(s, "stats") {
				r.t.Errorf("help lists a hidden command:\n%s", s)
			}
			out, _ = r.c.Exec(nil, "runtime/stats")
			if s := string(out); !strings.Contains(s, "\ngoroutines ") && !strings.HasPrefix(s, "0000 DATA END WITH '.'\ngoroutines ") {
				r.t.Errorf("runtime/stats =\n%s", s)
			}
		}),
	})
}
