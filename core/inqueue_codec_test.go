package core_test

import (
	"bytes"
	"fmt"
	"reflect"
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
// encodes back to the same bytes.
func FuzzDecodeInbound(f *testing.F) {
	var m core.InboundMessage
	n := 0
	fill(reflect.ValueOf(&m).Elem(), &n)
	b, _ := core.EncodeInbound(m)
	f.Add(b)
	z, _ := core.EncodeInbound(core.InboundMessage{Door: core.DoorSMTP, Subject: "x"})
	f.Add(z)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := core.DecodeInbound(in)
		if err != nil {
			return
		}
		out, err := core.EncodeInbound(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("decode then encode changed the form:\n in %x\nout %x", in, out)
		}
	})
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
