package reqresp

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Handler supplies the local state a server answers with and hears what
// peers tell it. Its methods are called from many goroutines at once.
type Handler interface {
	LocalStatus() Status
	LocalMetaData() MetaData
	OnStatus(p peer.ID, s Status, version int)
	OnPing(p peer.ID, seq uint64)
	OnGoodbye(p peer.ID, reason uint64)
}

// Protocols lists every protocol Register serves.
func Protocols() []protocol.ID {
	return []protocol.ID{ProtocolStatusV2, ProtocolStatusV1, ProtocolMetaDataV3, ProtocolMetaDataV2, ProtocolPing, ProtocolGoodbye}
}

// Register serves all six protocols on h, answering from hd.
func Register(h host.Host, hd Handler, opts Options) {
	sv := &server{hd: hd, opts: opts.withDefaults(), active: make(map[peer.ID]int)}
	for _, pid := range Protocols() {
		h.SetStreamHandler(pid, sv.handle)
	}
}

// Unregister removes the handlers Register set.
func Unregister(h host.Host) {
	for _, pid := range Protocols() {
		h.RemoveStreamHandler(pid)
	}
}

type server struct {
	hd   Handler
	opts Options

	mu     sync.Mutex
	active map[peer.ID]int // inbound streams being served, per peer
}

func (sv *server) acquire(p peer.ID) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.active[p] >= sv.opts.MaxConcurrentPerPeer {
		return false
	}
	sv.active[p]++
	return true
}

func (sv *server) release(p peer.ID) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.active[p] <= 1 {
		delete(sv.active, p)
		return
	}
	sv.active[p]--
}

func (sv *server) handle(s network.Stream) {
	p := s.Conn().RemotePeer()
	pid := s.Protocol()
	log := sv.opts.Logger.With("peer", p.String(), "protocol", string(pid))
	if !sv.acquire(p) {
		log.Debug("req/resp stream refused: too many concurrent streams from peer", "limit", sv.opts.MaxConcurrentPerPeer)
		_ = s.Reset()
		return
	}
	defer sv.release(p)
	defer func() {
		// A bug in a Handler must not take the process down with it.
		if r := recover(); r != nil {
			log.Error("req/resp handler panicked", "panic", fmt.Sprint(r))
			_ = s.Reset()
		}
	}()

	if err := s.SetDeadline(time.Now().Add(sv.opts.RespTimeout)); err != nil {
		_ = s.Reset()
		return
	}
	resp, err := sv.serve(s, p, pid)
	if err != nil {
		log.Debug("req/resp request failed", "err", err)
		if !errors.Is(err, errInvalidRequest) {
			_ = s.Reset() // timeouts and transport errors: nothing useful to say
			return
		}
		_ = WriteResponseChunk(s, CodeInvalidRequest, []byte(err.Error()))
		_ = s.Close()
		return
	}
	if err := WriteResponseChunk(s, CodeSuccess, resp); err != nil {
		log.Debug("req/resp response not delivered", "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// serve reads the request of pid and returns the SSZ response.
func (sv *server) serve(s network.Stream, p peer.ID, pid protocol.ID) ([]byte, error) {
	version := protocolVersion(pid)
	switch pid {
	case ProtocolStatusV1, ProtocolStatusV2:
		b, err := readRequest(s, StatusSize(version))
		if err != nil {
			return nil, err
		}
		st, err := UnmarshalStatus(b, version)
		if err != nil {
			return nil, fmt.Errorf("%w: status: %w", errInvalidRequest, err)
		}
		sv.hd.OnStatus(p, st, version)
		local := sv.hd.LocalStatus()
		return local.MarshalSSZ(version), nil
	case ProtocolMetaDataV2, ProtocolMetaDataV3:
		// The metadata request has no content.
		local := sv.hd.LocalMetaData()
		return local.MarshalSSZ(version), nil
	case ProtocolPing:
		b, err := readRequest(s, Uint64Size)
		if err != nil {
			return nil, err
		}
		seq, _ := unmarshalUint64(b)
		sv.hd.OnPing(p, seq)
		return marshalUint64(sv.hd.LocalMetaData().SeqNumber), nil
	case ProtocolGoodbye:
		b, err := readRequest(s, Uint64Size)
		if err != nil {
			return nil, err
		}
		reason, _ := unmarshalUint64(b)
		sv.hd.OnGoodbye(p, reason)
		// The spec wants a single response chunk; Lodestar answers 0.
		return marshalUint64(0), nil
	}
	return nil, fmt.Errorf("%w: protocol %s not served", errInvalidRequest, pid)
}

// readRequest reads a fixed-size request; malformed input becomes an
// invalid-request answer, transport failures do not.
func readRequest(s network.Stream, size int) ([]byte, error) {
	b, err := ReadRequest(s, size, size)
	if err != nil {
		if errors.Is(err, ErrEncoding) || errors.Is(err, ErrLength) {
			return nil, fmt.Errorf("%w: %w", errInvalidRequest, err)
		}
		return nil, err
	}
	return b, nil
}
