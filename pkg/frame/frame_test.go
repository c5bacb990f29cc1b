// SPDX-License-Identifier: GPL-2.0-or-later

package frame

import (
	"bytes"
	"testing"
)

func mkFrame(n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{0x02, 0, 0, 0, 0, 0xd2, 0x02, 0, 0, 0, 0, 0xd1, 0x08, 0x00})
	for i := HeaderLen; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

func TestParse(t *testing.T) {
	for _, n := range []int{0, 1, 13, 14, 60, 1518, MaxLen, MaxLen + 1} {
		_, err := Parse(make([]byte, n))
		if want := n >= MinLen && n <= MaxLen; (err == nil) != want {
			t.Errorf("Parse(%d bytes) error = %v, want ok=%v", n, err, want)
		}
	}
	f, _ := Parse(mkFrame(60))
	if f.Dst() != (MAC{2, 0, 0, 0, 0, 0xd2}) || f.Src() != (MAC{2, 0, 0, 0, 0, 0xd1}) || f.EtherType() != 0x0800 {
		t.Errorf("accessors = %v %v %#x", f.Dst(), f.Src(), f.EtherType())
	}
	if f.IsGroup() || f.Tagged() {
		t.Errorf("IsGroup=%v Tagged=%v, want false false", f.IsGroup(), f.Tagged())
	}
	if _, ok := f.VID(); ok {
		t.Error("VID of untagged frame reported ok")
	}
}

func TestTagRoundTrip(t *testing.T) {
	orig := mkFrame(64)
	dst := make([]byte, 100)
	tagged, err := InsertTag(dst, Frame(orig), NewTag(0xe00a))
	if err != nil {
		t.Fatal(err)
	}
	if len(tagged) != 68 || !tagged.Tagged() {
		t.Fatalf("InsertTag len=%d tagged=%v", len(tagged), tagged.Tagged())
	}
	if vid, _ := tagged.VID(); vid != 10 {
		t.Errorf("VID = %d, want 10", vid)
	}
	if tci, _ := tagged.TCI(); tci != 0xe00a {
		t.Errorf("TCI = %#x, want 0xe00a", tci)
	}
	if tagged.InnerType() != 0x0800 {
		t.Errorf("InnerType = %#x", tagged.InnerType())
	}
	want := append(append(append([]byte{}, orig[:12]...), 0x81, 0x00, 0xe0, 0x0a), orig[12:]...)
	if !bytes.Equal(tagged, want) {
		t.Fatalf("InsertTag =\n%x\nwant\n%x", []byte(tagged), want)
	}
	back, err := StripTag(make([]byte, 100), tagged)
	if err != nil || !bytes.Equal(back, orig) {
		t.Fatalf("StripTag = %x, %v; want %x", []byte(back), err, orig)
	}
}

func TestTagInPlace(t *testing.T) {
	orig := mkFrame(80)
	// Headroom: the frame sits TagLen bytes into the buffer; the tagged frame starts at 0.
	buf := make([]byte, TagLen+len(orig))
	copy(buf[TagLen:], orig)
	tagged, err := InsertTag(buf, Frame(buf[TagLen:]), NewTag(7))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, orig[:12]...), 0x81, 0x00, 0x00, 0x07), orig[12:]...)
	if !bytes.Equal(tagged, want) {
		t.Fatalf("in-place InsertTag with headroom =\n%x\nwant\n%x", []byte(tagged), want)
	}
	// Strip back in place, shifting the header right by TagLen.
	stripped, err := StripTag(buf[TagLen:], tagged)
	if err != nil || !bytes.Equal(stripped, orig) {
		t.Fatalf("in-place StripTag = %x, %v", []byte(stripped), err)
	}
	// Same start, with spare capacity.
	buf2 := make([]byte, len(orig)+TagLen)
	copy(buf2, orig)
	tagged2, _ := InsertTag(buf2, Frame(buf2[:len(orig)]), NewTag(7))
	if !bytes.Equal(tagged2, want) {
		t.Fatalf("same-start InsertTag =\n%x\nwant\n%x", []byte(tagged2), want)
	}
	s2, _ := StripTag(buf2, tagged2)
	if !bytes.Equal(s2, orig) {
		t.Fatalf("same-start StripTag = %x", []byte(s2))
	}
}

func TestTagErrors(t *testing.T) {
	if _, err := InsertTag(make([]byte, 10), Frame(mkFrame(60)), NewTag(1)); err != ErrShortBuffer {
		t.Errorf("InsertTag short dst: %v", err)
	}
	if _, err := StripTag(make([]byte, 100), Frame(mkFrame(60))); err != ErrBadLen {
		t.Errorf("StripTag untagged: %v", err)
	}
	short := Frame([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0, 0})
	if short.Tagged() {
		t.Error("15-byte frame with 0x8100 reported tagged")
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in   string
		want MAC
		ok   bool
	}{
		{"02:00:00:00:00:01", MAC{2, 0, 0, 0, 0, 1}, true},
		{"2:0:0:0:0:1", MAC{2, 0, 0, 0, 0, 1}, true},
		{"02.00.5e.00.00.ff", MAC{2, 0, 0x5e, 0, 0, 0xff}, true},
		{"AA:bb:CC:dd:EE:ff", MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, true},
		{"zz", MAC{}, false},
		{"02:00:00:00:00", MAC{}, false},
		{"02:00:00:00:00:01:02", MAC{}, false},
		{"02:00.00:00:00:01", MAC{}, false},
		{"002:00:00:00:00:01", MAC{}, false},
		{"", MAC{}, false},
	}
	for _, tt := range tests {
		got, err := ParseMAC(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseMAC(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if s := (MAC{2, 0, 0x5e, 0, 0, 1}).String(); s != "02:00:5e:00:00:01" {
		t.Errorf("String = %s", s)
	}
}

func TestZeroAlloc(t *testing.T) {
	f := Frame(mkFrame(1500))
	dst := make([]byte, MaxLen)
	var sink uint16
	a := testing.AllocsPerRun(1000, func() {
		g, _ := Parse(f)
		m := map[MAC]int{}
		_ = m
		if g.Dst().IsGroup() || g.Src() == Broadcast {
			sink++
		}
		t2, _ := InsertTag(dst, g, NewTag(5))
		v, _ := t2.VID()
		sink += v
		_, _ = StripTag(dst, t2)
	})
	if a != 0 {
		t.Fatalf("frame ops allocate %v times per run, want 0", a)
	}
	_ = sink
}

func FuzzParse(f *testing.F) {
	f.Add(mkFrame(60))
	f.Add(append(mkFrame(14)[:12], 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			return
		}
		_ = fr.Dst()
		_ = fr.Src()
		_ = fr.InnerType()
		if fr.Tagged() {
			s, err := StripTag(make([]byte, len(fr)), fr)
			if err != nil {
				t.Fatalf("StripTag of tagged frame: %v", err)
			}
			tci, _ := fr.TCI()
			back, err := InsertTag(make([]byte, len(fr)), s, NewTag(tci))
			if err != nil || !bytes.Equal(back, fr) {
				t.Fatalf("re-tag = %x, %v; want %x", []byte(back), err, []byte(fr))
			}
		}
	})
}

func FuzzParseMAC(f *testing.F) {
	f.Add("02:00:00:00:00:01")
	f.Add("2.0.0.0.0.1")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		m2, err := ParseMAC(m.String())
		if err != nil || m2 != m {
			t.Fatalf("ParseMAC(String(%v)) = %v, %v", m, m2, err)
		}
	})
}

func TestTagLayout(t *testing.T) {
	if TPIDOffset != 12 || TCIOffset != 14 || TagEnd != 16 || TaggedHeaderLen != 18 {
		t.Fatalf("layout %d %d %d %d, want 12 14 16 18", TPIDOffset, TCIOffset, TagEnd, TaggedHeaderLen)
	}
	tag := NewTag(0xe00a)
	if tag != (Tag{0x81, 0x00, 0xe0, 0x0a}) || tag.TCI() != 0xe00a || tag.VID() != 10 {
		t.Errorf("NewTag(0xe00a) = %x, TCI %#x, VID %d", tag, tag.TCI(), tag.VID())
	}
	f := Frame(mkFrame(60))
	if f.HasTPID() || f.Tagged() {
		t.Errorf("untagged frame: HasTPID %v Tagged %v", f.HasTPID(), f.Tagged())
	}
	tagged, _ := InsertTag(make([]byte, 64), f, tag)
	if !tagged.HasTPID() || !tagged.Tagged() || tagged.Tag() != tag || Tag(tagged[TPIDOffset:TagEnd]) != tag {
		t.Errorf("tagged frame %x", []byte(tagged))
	}
	// A TPID without room for the TCI is malformed: HasTPID but not Tagged.
	short := Frame(append(mkFrame(14)[:12], 0x81, 0x00, 0x00))
	if !short.HasTPID() || short.Tagged() {
		t.Errorf("short tagged frame: HasTPID %v Tagged %v", short.HasTPID(), short.Tagged())
	}
	if vid, ok := short.VID(); ok {
		t.Errorf("short tagged frame VID = %d, true", vid)
	}
}

func TestTagZeroAllocs(t *testing.T) {
	buf := make([]byte, MaxLen+TagLen)
	f := Frame(mkFrame(1500))
	tag := NewTag(42)
	if a := testing.AllocsPerRun(100, func() {
		g, _ := InsertTag(buf, f, tag)
		_, _ = StripTag(buf, g)
	}); a != 0 {
		t.Errorf("InsertTag+StripTag allocs = %v, want 0", a)
	}
}
