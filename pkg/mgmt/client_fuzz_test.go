// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseAll runs the client's scanner and assembler over in, cut into pieces of chunk bytes, and returns the
// replies and the asynchronous lines.
func parseAll(in []byte, chunk int, segments ...[]byte) (replies []Reply, async []string, err error) {
	var (
		sc replyScanner
		as replyAssembler
	)
	sc.holdPrompt = func() bool { return as.inData }
	emit := func(k replyTok, line string) {
		a, done, r := as.token(k, line)
		if a {
			async = append(async, line)
		}
		if done {
			replies = append(replies, r)
		}
	}
	if chunk <= 0 {
		chunk = 1
	}
	for _, seg := range segments { // fed whole, before in: the banner up to the prompt
		if err := sc.feed(seg, emit); err != nil {
			return replies, async, err
		}
	}
	for len(in) > 0 {
		n := min(chunk, len(in))
		if err := sc.feed(in[:n], emit); err != nil {
			return replies, async, err
		}
		in = in[n:]
	}
	sc.eof(emit)
	return replies, async, nil
}

// FuzzReplyStream feeds arbitrary bytes to the reply parser: it must not panic, and what it returns must be
// well formed (no newline in a line, no asynchronous line in a reply, codes in range).
func FuzzReplyStream(f *testing.F) {
	f.Add([]byte(fakeSwitchBanner+"\nvde$ 0000 DATA END WITH '.'\nNumports=32\n.\n1000 Success\n\nvde$ "), 3)
	f.Add([]byte(fakeWFBanner+"\nVDEwf$ 1-01 Unknown error -1\n"), 1)
	f.Add([]byte("vde$ 3031 port/ep/+ Port 02 FD 11\n1022 Invalid argument\n\nvde$ 9999 END OF SESSION"), 5)
	f.Add([]byte("x$ 0000 DATA\n3\n.\n.\n1-9 \n9999\n\r\n"), 2)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk < 0 {
			chunk = -chunk
		}
		replies, async, err := parseAll(in, chunk%64+1)
		if err != nil {
			return
		}
		for _, l := range async {
			if !IsAsyncLine(l) || strings.Contains(l, "\n") {
				t.Fatalf("async line %q", l)
			}
		}
		for _, r := range replies {
			if r.Code != 0 && r.Code != CodeEndOfSession && (r.Code < 900 || r.Code > 1999) {
				t.Fatalf("reply code %d", r.Code)
			}
			for _, l := range r.Data {
				if IsAsyncLine(l) || strings.Contains(l, "\n") {
					t.Fatalf("data line %q", l)
				}
			}
		}
	})
}

// FuzzReplyRoundTrip encodes a reply the way vde_switch does, with asynchronous lines mixed in, and checks
// that the parser gets back exactly the data lines, the code and the text, however the bytes are split.
func FuzzReplyRoundTrip(f *testing.F) {
	f.Add("Numports=32\nHUB=false\n\ncounters=true", 22, "Invalid argument", 7, true)
	f.Add("", 0, "Success", 1, false)
	f.Add("Hash: 0043 Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001  age 3 secs", 38, "", 100, true)
	f.Fuzz(func(t *testing.T, data string, errno int, text string, chunk int, withAsync bool) {
		errno = (errno%1000 + 1000) % 1000
		if strings.ContainsAny(text, "\r\n") || chunk <= 0 {
			return
		}
		var lines []string
		if data != "" {
			lines = strings.Split(data, "\n")
		}
		var b strings.Builder
		b.WriteString("0000 DATA END WITH '.'\n")
		want := []string{}
		for i, l := range lines {
			l = strings.TrimSuffix(l, "\r")
			if l == "." || IsAsyncLine(l) || strings.HasSuffix(l, "\r") || strings.HasPrefix(l, "9999") {
				continue // not representable in a data block
			}
			want = append(want, l)
			b.WriteString(l + "\n")
			if withAsync && i%2 == 0 {
				b.WriteString("3011 hash/+ 02:00:00:00:00:d1 VLAN 00:00 Port 2\n")
			}
		}
		b.WriteString(".\n")
		res := "1" + pad3(errno)
		if text != "" {
			res += " " + text
		}
		b.WriteString(res + "\n\nvde$ ")
		replies, _, err := parseAll([]byte(b.String()), chunk%200+1, []byte(fakeSwitchBanner+"\nvde$ "))
		if err != nil {
			t.Fatal(err)
		}
		if len(replies) < 2 {
			t.Fatalf("got %d replies, want banner + 1", len(replies))
		}
		r := replies[len(replies)-1]
		if r.Code != 1000+errno || r.Text != text {
			t.Errorf("result = %d %q, want %d %q", r.Code, r.Text, 1000+errno, text)
		}
		if diff := cmp.Diff(want, r.Data); diff != "" {
			t.Errorf("data mismatch (-want +got):\n%s", diff)
		}
	})
}

func pad3(n int) string {
	s := "00" + itoa(n)
	return s[len(s)-3:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for n > 0 {
		d = append([]byte{byte('0' + n%10)}, d...)
		n /= 10
	}
	return string(d)
}

// FuzzParseHelp checks that any help listing parses without panicking into entries with a path.
func FuzzParseHelp(f *testing.F) {
	f.Add(strings.Join(switchHelp, "\n"))
	f.Add(strings.Join(wirefilterHelp, "\n"))
	f.Fuzz(func(t *testing.T, in string) {
		for _, e := range ParseHelp(strings.Split(in, "\n")) {
			if e.Path == "" || strings.ContainsAny(e.Path, " \t\n") {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}
