package core_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"trivialtickets/core"
)

// fill sets every field reachable from v to a value of its own, so that a
// field the codec forgets does not come back.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("value %d ü\x00", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(-1000 * *n))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(*n), 0, 0xff})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	default:
		panic("fill: no value for " + v.Kind().String())
	}
}

// TestInboundCodecEveryField: every field of InboundMessage survives the
// inbound queue.
func TestInboundCodecEveryField(t *testing.T) {
	var m core.InboundMessage
	n := 0
	fill(reflect.ValueOf(&m).Elem(), &n)
	b, err := core.EncodeInbound(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := core.DecodeInbound(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// The zero message too.
	b, _ = core.EncodeInbound(core.InboundMessage{})
	if got, err := core.DecodeInbound(b); err != nil || !reflect.DeepEqual(got, core.InboundMessage{}) {
		t.Errorf("zero message: %+v, %v", got, err)
	}
}

// TestInboundCodecDamaged: a cut, extended or changed form is refused,
// never half read.
func TestInboundCodecDamaged(t *testing.T) {
	var m core.InboundMessage
	n := 0
	fill(reflect.ValueOf(&m).Elem(), &n)
	b, _ := core.EncodeInbound(m)
	for i := range len(b) {
		if _, err := core.DecodeInbound(b[:i]); err == nil {
			t.Fatalf("the form cut at %d of %d bytes was read", i, len(b))
		}
	}
	if _, err := core.DecodeInbound(append(bytes.Clone(b), 0)); err == nil {
		t.Error("a form with a byte too many was read")
	}
	if _, err := core.DecodeInbound(append([]byte{99}, b[1:]...)); err == nil {
		t.Error("an unknown version was read")
	}
}

// FuzzDecodeInbound: any input is refused or read into a message that
// survives encoding again; a plain form that stays plain encodes back to
// the same bytes.
func FuzzDecodeInbound(f *testing.F) {
	var m core.InboundMessage
	n := 0
	fill(reflect.ValueOf(&m).Elem(), &n)
	b, _ := core.EncodeInbound(m)
	f.Add(b)
	z, _ := core.EncodeInbound(core.InboundMessage{Door: core.DoorSMTP, Subject: "x"})
	f.Add(z)
	d, _ := core.EncodeInbound(mailOfLines(40))
	f.Add(d)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := core.DecodeInbound(in)
		if err != nil {
			return
		}
		out, err := core.EncodeInbound(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := core.DecodeInbound(out)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("decode, encode, decode changed the message (%v):\n got %+v\nwant %+v", err, again, m)
		}
		if in[0] == 1 && out[0] == 1 && !bytes.Equal(out, in) {
			t.Fatalf("decode then encode changed the form:\n in %x\nout %x", in, out)
		}
	})
}

// mailOfLines is a text mail of n lines, as mail clients and smtp-source
// send them: it compresses well.
func mailOfLines(n int) core.InboundMessage {
	var text strings.Builder
	for i := range n {
		fmt.Fprintf(&text, "Line %d of the customer's report: the printer in room %d is on fire again.\n", i, i%7)
	}
	return core.InboundMessage{Door: core.DoorSMTP, From: "alice@example.com", Recipients: []string{"support@example.com"},
		Subject: "Printer on fire", Text: text.String(), MessageID: "m1@example.com"}
}

// plainForm is the uncompressed form of a compressed b, as a daemon before
// compression wrote it.
func plainForm(t *testing.T, b []byte) []byte {
	t.Helper()
	if b[0] != 2 {
		t.Fatalf("form version %d, want 2 (compressed)", b[0])
	}
	n, k := binary.Uvarint(b[1:])
	plain, err := io.ReadAll(flate.NewReader(bytes.NewReader(b[1+k:])))
	if err != nil || uint64(len(plain)) != n {
		t.Fatalf("inflate: %d bytes of %d, %v", len(plain), n, err)
	}
	return plain
}

// TestInboundCodecDeflated: a text mail is stored compressed and read back
// whole, a form written before compression (plain) is still read, and
// what does not compress (random attachments) or is large stays plain.
func TestInboundCodecDeflated(t *testing.T) {
	m := mailOfLines(40)
	b, err := core.EncodeInbound(m)
	if err != nil {
		t.Fatal(err)
	}
	plain := plainForm(t, b)
	if len(b) > len(plain)/2 {
		t.Errorf("compressed form %d bytes, plain %d: want at most half", len(b), len(plain))
	}
	for name, form := range map[string][]byte{"compressed": b, "plain": plain} {
		got, err := core.DecodeInbound(form)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s form: %v\n got %+v\nwant %+v", name, err, got, m)
		}
	}

	noise := make([]byte, 8<<10)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	random := core.InboundMessage{Door: core.DoorSMTP, Subject: "photo",
		Attachments: []core.Attachment{{Filename: "p.jpg", ContentType: "image/jpeg", Size: int64(len(noise)), Data: noise}}}
	large := mailOfLines(5000) // about 400 KiB of text
	for name, m := range map[string]core.InboundMessage{"random attachment": random, "large": large} {
		b, err := core.EncodeInbound(m)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != 1 {
			t.Errorf("%s: form version %d, want 1 (plain)", name, b[0])
		}
		if got, err := core.DecodeInbound(b); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip failed: %v", name, err)
		}
	}
}

// TestInboundCodecDeflatedDamaged: a compressed form that is cut, has
// bytes after its stream or names another length is refused.
func TestInboundCodecDeflatedDamaged(t *testing.T) {
	b, _ := core.EncodeInbound(mailOfLines(40))
	for i := range len(b) {
		if _, err := core.DecodeInbound(b[:i]); err == nil {
			t.Fatalf("the compressed form cut at %d of %d bytes was read", i, len(b))
		}
	}
	if _, err := core.DecodeInbound(append(bytes.Clone(b), 0)); err == nil {
		t.Error("a compressed form with a byte after its stream was read")
	}
	n, k := binary.Uvarint(b[1:])
	stream := b[1+k:]
	for _, named := range []uint64{n - 1, n + 1, 1 << 40} {
		form := binary.AppendUvarint([]byte{2}, named)
		if _, err := core.DecodeInbound(append(form, stream...)); err == nil {
			t.Errorf("a compressed form naming %d bytes for %d was read", named, n)
		}
	}
}

// TestInboundCodecOverlong: a number written with more bytes than needed
// is refused, so that every message has one form.
func TestInboundCodecOverlong(t *testing.T) {
	b, _ := core.EncodeInbound(core.InboundMessage{})
	over := append([]byte{b[0], 0x80, 0x00}, b[2:]...) // Door's length 0 in two bytes
	if _, err := core.DecodeInbound(over); err == nil {
		t.Error("an overlong length was read")
	}
}
