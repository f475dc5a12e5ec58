package rpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"

	"github.com/valtrack/valtrack/internal/safe"
)

// SlashingParamsPath is the gRPC method x/slashing answers its parameters
// on; over CometBFT's abci_query it takes an empty request.
const SlashingParamsPath = "/cosmos.slashing.v1beta1.Query/Params"

// ErrNotAvailable: the node answered, but its application does not serve
// the query (a non-zero code, or an empty value — what a chain without
// x/slashing, such as CometBFT's kvstore app, answers).
var ErrNotAvailable = errors.New("the node's application does not answer this query")

// maxABCIValue bounds the decoded value of an abci_query answer.
const maxABCIValue = 1 << 20

// ABCIAnswer is the response part of abci_query's result.
type ABCIAnswer struct {
	Code   uint32
	Log    string
	Value  []byte
	Height int64
}

// ABCIQuery calls abci_query(path, data) and returns the answer. A
// non-zero code or an empty value is ErrNotAvailable (with the node's
// code and log in the message).
func (c *Client) ABCIQuery(ctx context.Context, path string, data []byte) (*ABCIAnswer, error) {
	p := url.Values{"path": {strconv.Quote(path)}}
	if len(data) > 0 {
		p.Set("data", fmt.Sprintf("0x%x", data))
	}
	r, err := c.call(ctx, "/abci_query", p)
	if err != nil {
		return nil, err
	}
	a, err := DecodeABCIQuery(r)
	if err != nil {
		c.malformed("abci_query", KindWrongShape)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if a.Code != 0 || len(a.Value) == 0 {
		return a, fmt.Errorf("abci_query %s on %s: code %d, %d bytes (%s): %w", path, c.name, a.Code, len(a.Value), a.Log, ErrNotAvailable)
	}
	return a, nil
}

// DecodeABCIQuery decodes abci_query's result:
// {"response":{"code":0,"log":"","value":"base64","height":"5",…}}.
func DecodeABCIQuery(result []byte) (*ABCIAnswer, error) {
	var w struct {
		Response struct {
			Code   Int64           `json:"code"`
			Log    Text            `json:"log"`
			Value  json.RawMessage `json:"value"`
			Height Int64           `json:"height"`
		} `json:"response"`
	}
	if err := json.Unmarshal(result, &w); err != nil {
		return nil, fmt.Errorf("abci_query: %w", err)
	}
	if w.Response.Code < 0 || w.Response.Code > 1<<32-1 {
		return nil, fmt.Errorf("abci_query: code %d is not a uint32", w.Response.Code)
	}
	a := &ABCIAnswer{Code: uint32(w.Response.Code), Log: string(w.Response.Log), Height: int64(w.Response.Height)}
	var s string
	if len(w.Response.Value) > 0 && string(w.Response.Value) != "null" {
		if err := json.Unmarshal(w.Response.Value, &s); err != nil {
			return nil, fmt.Errorf("abci_query: value %s is not a base64 string", safe.String(string(w.Response.Value), 40))
		}
	}
	if base64.StdEncoding.DecodedLen(len(s)) > maxABCIValue {
		return nil, fmt.Errorf("abci_query: value of %d base64 characters: at most %d bytes", len(s), maxABCIValue)
	}
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("abci_query: value is not base64: %w", err)
	}
	a.Value = v
	return a, nil
}

// SlashingParams are the two x/slashing parameters the jail projection
// needs.
type SlashingParams struct {
	SignedBlocksWindow int64
	MinSignedPerWindow float64 // 0..1
}

// SlashingParams reads x/slashing's parameters with abci_query. A chain
// without x/slashing is ErrNotAvailable.
func (c *Client) SlashingParams(ctx context.Context) (*SlashingParams, error) {
	a, err := c.ABCIQuery(ctx, SlashingParamsPath, nil)
	if err != nil {
		return nil, err
	}
	p, err := DecodeSlashingParams(a.Value)
	if err != nil {
		c.malformed("abci_query", KindWrongShape)
		return nil, fmt.Errorf("abci_query %s on %s: %w", SlashingParamsPath, c.name, err)
	}
	return p, nil
}

// DecodeSlashingParams decodes the protobuf QueryParamsResponse
// {params = 1: Params {signed_blocks_window = 1 (int64),
// min_signed_per_window = 2 (bytes: a LegacyDec, the decimal integer
// string of the value × 10^18), …}}. Unknown fields are skipped; the
// window must be at least 1 and the share within 0..1.
func DecodeSlashingParams(b []byte) (*SlashingParams, error) {
	var params []byte
	found := false
	err := ProtoFields(b, func(num int, wire int, v uint64, data []byte) error {
		if num == 1 && wire == WireBytes {
			params, found = data, true // the last one wins, as protobuf says (no merge needed: scalars)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("slashing params response: %w", err)
	}
	if !found {
		return nil, errors.New("slashing params response: no params field")
	}
	var p SlashingParams
	var dec []byte
	haveWindow, haveDec := false, false
	err = ProtoFields(params, func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == 1 && wire == WireVarint:
			p.SignedBlocksWindow, haveWindow = int64(v), true
		case num == 2 && wire == WireBytes:
			dec, haveDec = data, true
		case num == 1 || num == 2:
			return fmt.Errorf("field %d has wire type %d", num, wire)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("slashing params: %w", err)
	}
	if !haveWindow || p.SignedBlocksWindow < 1 {
		return nil, fmt.Errorf("slashing params: signed_blocks_window %d is not positive", p.SignedBlocksWindow)
	}
	if !haveDec {
		return nil, errors.New("slashing params: no min_signed_per_window")
	}
	f, err := legacyDecShare(dec)
	if err != nil {
		return nil, fmt.Errorf("slashing params: min_signed_per_window: %w", err)
	}
	p.MinSignedPerWindow = f
	return &p, nil
}

// legacyDecShare reads a cosmos-sdk LegacyDec as protobuf carries it (the
// decimal digits of the value × 10^18) that must be a share, 0..1 (so at
// most 80 digits, no sign).
func legacyDecShare(b []byte) (float64, error) {
	if len(b) == 0 || len(b) > 80 {
		return 0, fmt.Errorf("%d digits: want 1 to 80", len(b))
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal integer", safe.String(string(b), 40))
		}
	}
	n, ok := new(big.Int).SetString(string(b), 10)
	if !ok {
		return 0, fmt.Errorf("%q is not a decimal integer", safe.String(string(b), 40))
	}
	one := big.NewInt(1e18)
	if n.Cmp(one) > 0 {
		return 0, fmt.Errorf("%s×10⁻¹⁸ is over 1", safe.String(string(b), 40))
	}
	f, _ := new(big.Rat).SetFrac(n, one).Float64()
	return f, nil
}

// SlashingRecord is x/slashing's Params as EncodeSlashingParams writes
// them. The decimals are LegacyDec as protobuf carries them (digits of the
// value × 10^18).
type SlashingRecord struct {
	SignedBlocksWindow      int64
	MinSignedPerWindow      string
	DowntimeJailSeconds     int64
	SlashFractionDoubleSign string
	SlashFractionDowntime   string
}

// EncodeSlashingParams is the protobuf Params {signed_blocks_window = 1,
// min_signed_per_window = 2, downtime_jail_duration = 3 (Duration
// {seconds = 1}), slash_fraction_double_sign = 4, slash_fraction_downtime
// = 5} (cosmos-sdk proto/cosmos/slashing/v1beta1/slashing.proto).
func EncodeSlashingParams(p SlashingRecord) []byte {
	b := ProtoField(1, WireVarint, ProtoVarint(uint64(p.SignedBlocksWindow)))
	b = append(b, ProtoField(2, WireBytes, []byte(p.MinSignedPerWindow))...)
	if p.DowntimeJailSeconds != 0 {
		b = append(b, ProtoField(3, WireBytes, ProtoField(1, WireVarint, ProtoVarint(uint64(p.DowntimeJailSeconds))))...)
	}
	if p.SlashFractionDoubleSign != "" {
		b = append(b, ProtoField(4, WireBytes, []byte(p.SlashFractionDoubleSign))...)
	}
	if p.SlashFractionDowntime != "" {
		b = append(b, ProtoField(5, WireBytes, []byte(p.SlashFractionDowntime))...)
	}
	return b
}

// EncodeSlashingParamsResponse is QueryParamsResponse {params = 1} of
// params already encoded (EncodeSlashingParams).
func EncodeSlashingParamsResponse(params []byte) []byte { return ProtoField(1, WireBytes, params) }
