package reqresp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Client sends requests from a libp2p host. The zero Opts gives the spec
// timeouts.
type Client struct {
	Host host.Host
	Opts Options
}

// protocolVersion is the message version a protocol ID carries.
func protocolVersion(pid protocol.ID) int {
	switch pid {
	case ProtocolStatusV2, ProtocolMetaDataV2:
		return 2
	case ProtocolMetaDataV3:
		return 3
	}
	return 1
}

// Status sends ours and returns the peer's Status. It offers status/2 then
// status/1; version is the one the peer chose.
func (c *Client) Status(ctx context.Context, p peer.ID, ours Status) (theirs Status, version int, err error) {
	version, b, err := c.exchange(ctx, p, "status", []protocol.ID{ProtocolStatusV2, ProtocolStatusV1},
		func(v int) []byte { return ours.MarshalSSZ(v) }, StatusSize, true)
	if err != nil {
		return Status{}, 0, err
	}
	theirs, err = UnmarshalStatus(b, version)
	if err != nil {
		return Status{}, 0, fmt.Errorf("status with peer %s: %w", p, err)
	}
	return theirs, version, nil
}

// MetaData asks the peer for its MetaData, offering metadata/3 then
// metadata/2; the int is the version the peer chose.
func (c *Client) MetaData(ctx context.Context, p peer.ID) (MetaData, int, error) {
	version, b, err := c.exchange(ctx, p, "metadata", []protocol.ID{ProtocolMetaDataV3, ProtocolMetaDataV2},
		nil, MetaDataSize, true)
	if err != nil {
		return MetaData{}, 0, err
	}
	m, err := UnmarshalMetaData(b, version)
	if err != nil {
		return MetaData{}, 0, fmt.Errorf("metadata with peer %s: %w", p, err)
	}
	return m, version, nil
}

// Ping sends our metadata sequence number and returns the peer's.
func (c *Client) Ping(ctx context.Context, p peer.ID, seq uint64) (uint64, error) {
	_, b, err := c.exchange(ctx, p, "ping", []protocol.ID{ProtocolPing},
		func(int) []byte { return marshalUint64(seq) }, func(int) int { return Uint64Size }, true)
	if err != nil {
		return 0, err
	}
	theirs, err := unmarshalUint64(b)
	if err != nil {
		return 0, fmt.Errorf("ping with peer %s: %w", p, err)
	}
	return theirs, nil
}

// Goodbye tells the peer why we are leaving. It does not wait for the answer
// the spec asks for: most clients never send one and the connection is about
// to close anyway.
func (c *Client) Goodbye(ctx context.Context, p peer.ID, reason uint64) error {
	_, _, err := c.exchange(ctx, p, "goodbye", []protocol.ID{ProtocolGoodbye},
		func(int) []byte { return marshalUint64(reason) }, func(int) int { return Uint64Size }, false)
	return err
}

// exchange opens a stream on the first of protos the peer accepts, writes the
// request (none when request is nil), half-closes, and reads one response
// chunk. The whole exchange is bounded by TTFBTimeout + RespTimeout.
func (c *Client) exchange(ctx context.Context, p peer.ID, name string, protos []protocol.ID,
	request func(version int) []byte, size func(version int) int, wantResponse bool,
) (version int, payload []byte, err error) {
	opts := c.Opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.TTFBTimeout+opts.RespTimeout)
	defer cancel()
	fail := func(op string, err error) (int, []byte, error) {
		return 0, nil, fmt.Errorf("%s with peer %s: %s: %w", name, p, op, classify(ctx, err))
	}

	s, err := c.Host.NewStream(ctx, p, protos...)
	if err != nil {
		return fail("open stream (is the peer connected and does it serve "+string(protos[0])+"?)", err)
	}
	// Reset on cancellation so that a blocked read or write returns at once.
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	ok := false
	defer func() {
		if !ok {
			_ = s.Reset()
		}
	}()
	version = protocolVersion(s.Protocol())
	end, _ := ctx.Deadline()

	if err := s.SetWriteDeadline(earliest(end, time.Now().Add(opts.RespTimeout))); err != nil {
		return fail("set write deadline", err)
	}
	if request != nil {
		if err := WriteRequest(s, request(version)); err != nil {
			return fail("send request", err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		return fail("close write side", err)
	}
	if !wantResponse {
		ok = true
		_ = s.Close()
		return version, nil, nil
	}

	if err := s.SetReadDeadline(earliest(end, time.Now().Add(opts.TTFBTimeout))); err != nil {
		return fail("set read deadline", err)
	}
	r := &ttfbReader{s: s, resp: opts.RespTimeout, end: end}
	n := size(version)
	code, b, err := ReadResponseChunk(r, n, n)
	if err != nil {
		return fail("read response", err)
	}
	if code != CodeSuccess {
		return fail("response", &ResponseError{Code: code, Message: printable(b)})
	}
	ok = true
	_ = s.Close()
	return version, b, nil
}

// ttfbReader moves the read deadline from the time-to-first-byte bound to
// the response bound once the first byte has arrived.
type ttfbReader struct {
	s       network.Stream
	resp    time.Duration
	end     time.Time
	started bool
}

func (t *ttfbReader) Read(b []byte) (int, error) {
	n, err := t.s.Read(b)
	if n > 0 && !t.started {
		t.started = true
		if derr := t.s.SetReadDeadline(earliest(t.end, time.Now().Add(t.resp))); derr != nil && err == nil {
			err = derr
		}
	}
	return n, err
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// classify turns deadline failures, whichever layer reports them, into
// ErrTimeout.
func classify(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w (peer too slow; raise Options timeouts if this peer is just far away): %w", ErrTimeout, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}
