package core

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The inbound queue's form of a message: a version byte, then every field
// of InboundMessage in its order, strings and byte slices as a uvarint
// length and their bytes, slices as a uvarint count and their elements,
// booleans as one byte, numbers as varints. Encoding and decoding take a
// tenth of encoding/json's time and a sixth of parsing the raw message
// again (BenchmarkQueueForm in mailgw/smtpin). TestInboundCodecEveryField
// fails when a field is added to InboundMessage without being added here.
//
// A form of at most deflateMax bytes that DEFLATE (RFC 1951, fastest
// level) makes at least an eighth smaller is stored compressed instead:
// the version byte inboundDeflated, the plain form's length as a uvarint
// and the DEFLATE stream. A mail of a few KiB then fills a fraction of a
// database page instead of a page of its own, so that each commit of the
// queue writes fewer pages before its 250 (a 2 KiB text mail: about one
// page less per message); larger mails are mostly attachments that are
// compressed already, and stay as they are.

const (
	inboundCodecVersion = 1
	inboundDeflated     = 2
	deflateMax          = 256 << 10
)

// errInboundCodec marks a queued message that cannot be decoded.
var errInboundCodec = errors.New("queued message is damaged")

// deflaters keeps DEFLATE writers (each holds about 1 MiB of tables)
// for the next message; inflaters the readers.
var deflaters, inflaters sync.Pool

// EncodeInbound is the compact form of m stored in the inbound queue.
func EncodeInbound(m InboundMessage) ([]byte, error) {
	n := 512 + len(m.Subject) + len(m.Text) + len(m.HTML)
	for _, a := range m.Attachments {
		n += 64 + len(a.Filename) + len(a.ContentType) + len(a.Data)
	}
	e := inboundEncoder{b: make([]byte, 0, n)}
	e.b = append(e.b, inboundCodecVersion)
	e.str(m.Door)
	e.str(m.From)
	e.str(m.FromName)
	e.strs(m.Recipients)
	e.str(m.Subject)
	e.str(m.Text)
	e.str(m.HTML)
	e.b = binary.AppendUvarint(e.b, uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		e.b = binary.AppendVarint(e.b, a.ID)
		e.str(a.Filename)
		e.str(a.ContentType)
		e.b = binary.AppendVarint(e.b, a.Size)
		e.str(a.ContentID)
		e.b = binary.AppendUvarint(e.b, uint64(len(a.Data)))
		e.b = append(e.b, a.Data...)
	}
	e.str(m.MessageID)
	e.strs(m.InReplyTo)
	e.strs(m.References)
	e.str(m.ReturnPath)
	e.bool(m.NullSender)
	e.str(m.AutoSubmitted)
	e.str(m.Precedence)
	e.str(m.AutoResponseSuppress)
	e.str(m.XAutoreply)
	e.str(m.XAutorespond)
	e.str(m.ListID)
	e.str(m.ListUnsubscribe)
	e.bool(m.LoopMarker)
	e.bool(m.Bounce)
	e.str(m.ReturnedSubject)
	e.strs(m.ReturnedAddresses)
	return deflateInbound(e.b), nil
}

// deflateInbound returns plain compressed when that saves an eighth,
// else plain itself.
func deflateInbound(plain []byte) []byte {
	if len(plain) > deflateMax || len(plain) < 64 {
		return plain
	}
	out := bytes.NewBuffer(make([]byte, 0, len(plain)/2+16))
	out.WriteByte(inboundDeflated)
	out.Write(binary.AppendUvarint(nil, uint64(len(plain))))
	w, _ := deflaters.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(out, flate.BestSpeed) // a valid level: no error
	} else {
		w.Reset(out)
	}
	// Writes to a bytes.Buffer do not fail.
	w.Write(plain)
	w.Close()
	deflaters.Put(w)
	if out.Len() > len(plain)-len(plain)/8 {
		return plain
	}
	return out.Bytes()
}

// inflateInbound returns the plain form of a compressed one (b starts
// with inboundDeflated): exactly the length it names, with nothing after
// the stream.
func inflateInbound(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > deflateMax {
		return nil, fmt.Errorf("decode inbound message: bad length: %w", errInboundCodec)
	}
	in := bytes.NewReader(b[1+k:])
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(in)
	} else if err := r.(flate.Resetter).Reset(in, nil); err != nil {
		return nil, fmt.Errorf("decode inbound message: %w", err)
	}
	defer inflaters.Put(r)
	plain := make([]byte, n)
	if _, err := io.ReadFull(r, plain); err != nil {
		return nil, fmt.Errorf("decode inbound message: %w: %w", errInboundCodec, err)
	}
	var one [1]byte
	if m, err := r.Read(one[:]); m != 0 || err != io.EOF || in.Len() != 0 {
		return nil, fmt.Errorf("decode inbound message: data after the stream: %w", errInboundCodec)
	}
	return plain, nil
}

// DecodeInbound reads what EncodeInbound wrote; the attachments' Data
// share b (or, when it is compressed, its plain form).
func DecodeInbound(b []byte) (InboundMessage, error) {
	var m InboundMessage
	if len(b) > 0 && b[0] == inboundDeflated {
		plain, err := inflateInbound(b)
		if err != nil {
			return m, err
		}
		b = plain
	}
	if len(b) == 0 || b[0] != inboundCodecVersion {
		return m, fmt.Errorf("decode inbound message: unknown form: %w", errInboundCodec)
	}
	d := inboundDecoder{b: b[1:]}
	m.Door = d.str()
	m.From = d.str()
	m.FromName = d.str()
	m.Recipients = d.strs()
	m.Subject = d.str()
	m.Text = d.str()
	m.HTML = d.str()
	if n := d.count(); n > 0 {
		m.Attachments = make([]Attachment, n)
		for i := range m.Attachments {
			a := &m.Attachments[i]
			a.ID = d.varint()
			a.Filename = d.str()
			a.ContentType = d.str()
			a.Size = d.varint()
			a.ContentID = d.str()
			a.Data = d.bytes()
		}
	}
	m.MessageID = d.str()
	m.InReplyTo = d.strs()
	m.References = d.strs()
	m.ReturnPath = d.str()
	m.NullSender = d.bool()
	m.AutoSubmitted = d.str()
	m.Precedence = d.str()
	m.AutoResponseSuppress = d.str()
	m.XAutoreply = d.str()
	m.XAutorespond = d.str()
	m.ListID = d.str()
	m.ListUnsubscribe = d.str()
	m.LoopMarker = d.bool()
	m.Bounce = d.bool()
	m.ReturnedSubject = d.str()
	m.ReturnedAddresses = d.strs()
	if d.bad || len(d.b) != 0 {
		return InboundMessage{}, fmt.Errorf("decode inbound message: %w", errInboundCodec)
	}
	return m, nil
}

type inboundEncoder struct{ b []byte }

func (e *inboundEncoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *inboundEncoder) strs(ss []string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *inboundEncoder) bool(v bool) {
	var c byte
	if v {
		c = 1
	}
	e.b = append(e.b, c)
}

// inboundDecoder reads an encoded message; past its first error (bad) it
// returns zero values.
type inboundDecoder struct {
	b   []byte
	bad bool
}

func (d *inboundDecoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 { // cut, too large or not minimal
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *inboundDecoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 { // cut, too large or not minimal
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length or count that the rest of the input can hold.
func (d *inboundDecoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.bad = true
		return 0
	}
	return int(v)
}

func (d *inboundDecoder) take() []byte {
	n := d.count()
	if d.bad {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *inboundDecoder) str() string { return string(d.take()) }

// bytes shares the input, so that an attachment is not copied again.
func (d *inboundDecoder) bytes() []byte {
	p := d.take()
	if len(p) == 0 {
		return nil
	}
	return p
}

func (d *inboundDecoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

func (d *inboundDecoder) bool() bool {
	if d.bad || len(d.b) == 0 || d.b[0] > 1 {
		d.bad = true
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}
