// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux

package interop

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/internal/testutil"
	"github.com/govde/govde/pkg/frame"
	"github.com/govde/govde/pkg/vde"
)

// Identities used by the tests below: the unprivileged attacker or client, and a victim user.
const (
	nobodyID = 65534 // nobody / nogroup
	daemonID = 1     // daemon, a system user with no login
)

// startOpenSwitch starts impl with -m 666 (directory 2777, ctl 0666: any user may connect and may write
// the switch directory, the setting that makes the data socket race possible) and lets every user reach it.
func startOpenSwitch(t *testing.T, impl switchImpl, extra ...string) *runningSwitch {
	t.Helper()
	sw := startSwitch(t, impl, append([]string{"-m", "666"}, extra...)...)
	base := filepath.Dir(sw.Dir)
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir is 0700
			t.Fatal(err)
		}
	}
	return sw
}

// mkdirOwned makes dir (0700) owned by uid and gid id.
func mkdirOwned(t *testing.T, dir string, id int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, id, id); err != nil {
		t.Fatal(err)
	}
}

// rawRequest connects to DIR/ctl and sends a connection request for port naming client, with the
// identity of the calling thread (see testutil.AsUser). With bind it first binds a datagram socket at
// client; the caller closes what it gets.
func rawRequest(dir, client string, port int, bind bool) (net.Conn, *net.UnixConn, error) {
	var uc *net.UnixConn
	if bind {
		os.Remove(client)
		var err error
		if uc, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: client, Net: "unixgram"}); err != nil {
			return nil, nil, err
		}
	}
	c, err := net.Dial("unix", filepath.Join(dir, "ctl"))
	if err != nil {
		if uc != nil {
			uc.Close()
		}
		return nil, nil, err
	}
	req, err := vde.AppendRequest(nil, vde.Message{ClientPath: client, Port: port, Descr: "attacker"})
	if err == nil {
		_, err = c.Write(req)
	}
	if err != nil {
		c.Close()
		if uc != nil {
			uc.Close()
		}
		return nil, nil, err
	}
	return c, uc, nil
}

// replyOf reads the switch's reply: the data socket path, or "" when the switch closed the connection or
// (vde_switch r586 on a denied port) sent nothing within d.
func replyOf(c net.Conn, d time.Duration) string {
	c.SetReadDeadline(time.Now().Add(d))
	var b [vde.SockaddrLen]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return ""
	}
	p, _ := vde.ParseReply(b[:])
	return p
}

// currentUser returns the "Current User" port/print shows for port n ("" when the port is not listed).
func (s *runningSwitch) currentUser(t *testing.T, n int) string {
	t.Helper()
	lines := s.do(t, "port/print")
	for i, l := range lines {
		if strings.HasPrefix(l, fmt.Sprintf("Port %04d ", n)) && i+1 < len(lines) {
			if m := regexp.MustCompile(`Current User: (\S+)`).FindStringSubmatch(lines[i+1]); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// TestForeignSocketRequest: an ordinary user (nobody) asks the root switch to connect a port to another
// user's private socket (daemon's 0600 socket in its 0700 directory), directly and through a symbolic
// link of its own, on a port restricted to that user by port/setuser. vde_switch connects (it takes the
// owner of the named file as the requester: the attacker floods the victim's socket and passes the access
// control as the victim; the test logs it); vswitch must refuse both, still refuse the attacker's own socket
// on the restricted port, and accept it on a free port with nobody as the Current User.
func TestForeignSocketRequest(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		sw := startOpenSwitch(t, impl)
		for _, p := range []int{3, 4, 6} {
			sw.do(t, fmt.Sprintf("port/create %d", p))
			sw.do(t, fmt.Sprintf("port/setuser %d daemon", p))
		}
		base := filepath.Dir(sw.Dir)
		vdir := filepath.Join(base, "victim")
		mkdirOwned(t, vdir, daemonID)
		victim := filepath.Join(vdir, "sock")
		vc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: victim, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer vc.Close()
		os.Chown(victim, daemonID, daemonID)
		os.Chmod(victim, 0o600)
		adir := filepath.Join(base, "attacker")
		mkdirOwned(t, adir, nobodyID)
		link := filepath.Join(adir, "link")

		type attempt struct {
			name   string
			client string
			port   int
			bind   bool
			c      net.Conn
			uc     *net.UnixConn
		}
		attempts := []*attempt{
			{name: "victim's socket", client: victim, port: 3},
			{name: "victim's socket through the attacker's symlink", client: link, port: 4},
			{name: "own socket on the victim's port", client: filepath.Join(adir, "own6"), port: 6, bind: true},
			{name: "own socket", client: filepath.Join(adir, "own"), port: 5, bind: true},
		}
		testutil.AsUser(t, nobodyID, nobodyID, func() {
			if err := os.Symlink(victim, link); err != nil {
				t.Error(err)
			}
			for _, a := range attempts {
				var err error
				if a.c, a.uc, err = rawRequest(sw.Dir, a.client, a.port, a.bind); err != nil {
					t.Errorf("%s: %v", a.name, err)
				}
			}
		})
		defer func() {
			for _, a := range attempts {
				if a.c != nil {
					a.c.Close()
				}
				if a.uc != nil {
					a.uc.Close()
				}
			}
		}()
		var vulnerable []string
		for i, a := range attempts {
			if a.c == nil {
				continue
			}
			got := replyOf(a.c, 3*time.Second)
			switch {
			case i < 2 && got != "":
				user := sw.currentUser(t, a.port)
				if impl.name == "vswitch" {
					t.Errorf("%s: %s accepted (data socket %s, port %d Current User %s), want refused", impl.name, a.name, got, a.port, user)
				}
				vulnerable = append(vulnerable, fmt.Sprintf("%s accepted on port %d as %s", a.name, a.port, user))
			case i == 2 && got != "":
				t.Errorf("%s: %s accepted, want refused by access control", impl.name, a.name)
			case i == 3 && got == "":
				t.Errorf("%s: %s on a free port refused, want accepted", impl.name, a.name)
			case i == 3:
				if u := sw.currentUser(t, 5); u != "nobody" {
					t.Errorf("%s: attacker's own socket: port 5 Current User %q, want nobody", impl.name, u)
				}
			}
		}
		if len(vulnerable) > 0 {
			t.Logf("%s is vulnerable: %s", impl.name, strings.Join(vulnerable, "; "))
		}
	})
}

// TestDataSocketSwapRace: the local root exploit of issue 14. An ordinary user who may write the switch
// directory (-m 666) watches it with inotify and, as soon as a data socket DIR/NNN.FD appears, renames a
// symbolic link to a root-owned file over it, while requesting connections as fast as it can. A switch that
// chmods and chowns the data socket by path after binding it then gives the link's target to the user.
// The race runs for at most 10 s or 3000 requests. vswitch must never lose (the target keeps its owner and
// mode), and the attacker must have swapped at least one socket (else the test proved nothing); for
// vde_switch the test only logs whether and after how many requests the attacker won.
func TestDataSocketSwapRace(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		sw := startOpenSwitch(t, impl)
		base := filepath.Dir(sw.Dir)
		target := filepath.Join(base, "target")
		if err := os.WriteFile(target, []byte("root's file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(target, 0o644)
		adir := filepath.Join(base, "attacker")
		mkdirOwned(t, adir, nobodyID)
		won := func() (bool, string) {
			var st syscall.Stat_t
			if err := syscall.Stat(target, &st); err != nil {
				return true, err.Error()
			}
			if st.Uid != 0 || st.Mode&0o7777 != 0o644 {
				return true, fmt.Sprintf("uid %d mode %o", st.Uid, st.Mode&0o7777)
			}
			return false, ""
		}

		var stop atomic.Bool
		var swaps atomic.Int64
		ready := make(chan error, 1)
		var wg sync.WaitGroup
		wg.Go(func() {
			testutil.AsUser(t, nobodyID, nobodyID, func() { swapLoop(sw.Dir, target, ready, &stop, &swaps) })
		})
		if err := <-ready; err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		requests, winAfter := 0, 0
		var why string
		testutil.AsUser(t, nobodyID, nobodyID, func() {
			for requests < 3000 && time.Now().Before(deadline) {
				requests++
				c, uc, err := rawRequest(sw.Dir, filepath.Join(adir, "c"), 0, true)
				if err != nil {
					t.Errorf("request %d: %v", requests, err)
					return
				}
				replyOf(c, 2*time.Second)
				c.Close()
				uc.Close()
				if w, s := won(); w {
					winAfter, why = requests, s
					return
				}
			}
		})
		stop.Store(true)
		wg.Wait()
		switch {
		case winAfter > 0 && impl.name == "vswitch":
			t.Errorf("%s: the attacker won after %d requests (%d swaps): the root-owned target is now %s", impl.name, winAfter, swaps.Load(), why)
		case winAfter > 0:
			t.Logf("%s: the attacker won after %d requests (%d swaps): the root-owned target is now %s", impl.name, winAfter, swaps.Load(), why)
		default:
			t.Logf("%s: the attacker did not win in %d requests (%d data sockets swapped for a symlink)", impl.name, requests, swaps.Load())
			if impl.name == "vswitch" && swaps.Load() == 0 {
				t.Errorf("%s: no data socket was swapped in %d requests: the race did not run", impl.name, requests)
			}
		}
	})
}

// swapLoop is the attacker's swapper: it reports on ready whether it is set up, then renames a prepared
// symbolic link to target over every data socket name that appears in dir, until stop.
func swapLoop(dir, target string, ready chan<- error, stop *atomic.Bool, swaps *atomic.Int64) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		ready <- fmt.Errorf("inotify: %w", err)
		return
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		ready <- fmt.Errorf("inotify watch %s: %w", dir, err)
		return
	}
	lnk := filepath.Join(dir, fmt.Sprintf(".lnk-%d", os.Getpid()))
	if err := os.Symlink(target, lnk); err != nil {
		ready <- err
		return
	}
	defer os.Remove(lnk)
	ready <- nil
	dataName := regexp.MustCompile(`^\d{3}\.\d+$`)
	var buf [4096]byte
	for !stop.Load() {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, 100); n <= 0 {
			continue
		}
		n, err := unix.Read(fd, buf[:])
		if err != nil {
			continue
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			// Our own renames show up too: swap only what is not already our link.
			var st unix.Stat_t
			if !dataName.MatchString(name) || unix.Lstat(filepath.Join(dir, name), &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
				continue
			}
			if unix.Rename(lnk, filepath.Join(dir, name)) == nil {
				swaps.Add(1)
				os.Symlink(target, lnk)
			}
		}
	}
}

// TestRealClientsAsUsers: the real libvdeplug clients connect to the switch as root and as ordinary users
// (nobody, daemon), and frames flow between them: vde_plug in stream mode, QEMU -netdev vde (when
// installed), and vde_plug2tap on a TAP owned by the user. port/print shows each user as its port's
// Current User. (vde_plug2tap, vdeplug4's vde_plug and QEMU all use libvdeplug, whose client socket is
// the caller's own: the rule "a socket owned by the requester" holds for every real client.)
func TestRealClientsAsUsers(t *testing.T) {
	eachSwitch(t, func(t *testing.T, impl switchImpl) {
		testutil.SkipUnlessRoot(t)
		sw := startOpenSwitch(t, impl)
		users := []struct {
			name string
			id   int
		}{{"root", 0}, {"nobody", nobodyID}, {"daemon", daemonID}}
		plugs := make([]*stdioPlug, len(users))
		for i, u := range users {
			plugs[i] = startPlugAs(t, u.id, "vde://"+sw.Dir)
			p := sw.waitEndpoint(t, fmt.Sprintf("vdeplug: user=%s pid=%d", u.name, plugs[i].Pid()))
			if cu := sw.currentUser(t, p); cu != u.name {
				t.Errorf("%s: vde_plug as %s on port %d: Current User %q, want %s", impl.name, u.name, p, cu, u.name)
			}
		}
		bcast := frame.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		for i, from := range plugs {
			f := testFrame(bcast, frame.MAC{0x02, 0, 0xc6, 0x12, 0x01, byte(i)}, 60, byte(i))
			from.send(t, f)
			for j, to := range plugs {
				if j == i {
					continue
				}
				if got := to.recv(t, 5*time.Second); !bytes.Equal(got, f) {
					t.Fatalf("%s: frame from %s's vde_plug to %s's: got % x, want % x", impl.name, users[i].name, users[j].name, got, f)
				}
			}
		}

		// vde_plug2tap as nobody on a TAP nobody owns, in a fresh namespace.
		ns := testutil.Netns(t)
		tap := testutil.RandName("gvu")
		testutil.Run(t, "ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", "user", "nobody")
		// /dev/net/tun may be 0600 (it is here): the plug keeps CAP_DAC_OVERRIDE, ambient, to open it. Its
		// uid, which is what the switch checks, is nobody's.
		p2t := testutil.Start(t, nil, "ip", "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534",
			"--clear-groups", "--inh-caps=+dac_override", "--ambient-caps=+dac_override",
			testutil.RealTool(t, "vde_plug2tap"), "-s", sw.Dir, tap)
		port := sw.waitEndpoint(t, fmt.Sprintf("vde_plug2tap: user=nobody pid=%d", p2t.Cmd.Process.Pid))
		if cu := sw.currentUser(t, port); cu != "nobody" {
			t.Errorf("%s: vde_plug2tap as nobody on port %d: Current User %q", impl.name, port, cu)
		}

		qemu, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			t.Log("qemu-system-x86_64 not installed: QEMU part skipped")
			return
		}
		vm := testutil.Start(t, nil, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", qemu,
			"-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none", "-m", "64", "-accel", "tcg",
			"-S", "-device", "e1000,netdev=n0", "-netdev", "vde,id=n0,sock="+sw.Dir)
		port = sw.waitEndpoint(t, fmt.Sprintf("QEMU user=nobody pid=%d", vm.Cmd.Process.Pid))
		if cu := sw.currentUser(t, port); cu != "nobody" {
			t.Errorf("%s: QEMU as nobody on port %d: Current User %q", impl.name, port, cu)
		}
	})
}

// startPlugAs is startPlug for "vde_plug args..." run as uid (and gid the same, no supplementary
// groups) through setpriv, which execs it: the PID is vde_plug's.
func startPlugAs(t *testing.T, uid int, args ...string) *stdioPlug {
	t.Helper()
	bin := testutil.RealTool(t, "vde_plug")
	id := strconv.Itoa(uid)
	return startPlugCmd(t, "setpriv", append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups", bin}, args...)...)
}
