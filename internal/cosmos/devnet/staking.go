package devnet

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// The devnet's x/slashing parameters, those of a cosmos-sdk chain by
// default: 100 blocks, half of them signed (a validator stopped for 51
// blocks would be jailed; the devnet itself jails nobody).
const (
	SignedBlocksWindow = 100
	MinSignedPerWindow = 0.5
	// minSignedDec is MinSignedPerWindow as a LegacyDec on the wire.
	minSignedDec = "500000000000000000"
)

// Bounds of the x/staking answers, as cosmos-sdk's query.Paginate has
// them: a page without a limit has DefaultPageLimit validators, and no
// page more than MaxPageLimit (the devnet's own bound; the SDK has none).
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// OperatorPrefix is the bech32 prefix of the devnet validators' operator
// addresses, the cosmos hub's.
const OperatorPrefix = "cosmosvaloper"

// StakingMoniker is validator i's x/staking moniker (description.moniker),
// which differs from its node's /status moniker (moniker(i)), as an
// operator's registered name usually does: who reads the devnet can tell
// which of the two named a validator. The index comes first, so that a
// narrow column (valtrack top's, 10 cells at the least) cut short still
// tells the validators apart.
func StakingMoniker(i int) string { return "Val " + strconv.Itoa(i) + " (devnet)" }

// queries answers the two cosmos-sdk queries valtrack asks of a chain,
// /cosmos.staking.v1beta1.Query/Validators and
// /cosmos.slashing.v1beta1.Query/Params, from the genesis validators:
// the kvstore application has neither module, and without them the
// devnet could not show monikers or slashing parameters end to end. The
// same answers go over abci_query (app) and gRPC (grpc.go). It is fixed
// once built, so safe for concurrent use.
type queries struct {
	keys [][]byte // store keys, ascending (the pagination order)
	vals [][]byte // the encoded Validator of each key
	// params is the encoded QueryParamsResponse.
	params []byte
}

// newQueries builds the answers of the chain's validators. A validator's
// operator address is its consensus address under OperatorPrefix (a real
// one is its account's; the devnet has no accounts), its tokens its
// power times 10^6 (the SDK's power reduction).
func newQueries(gen *types.GenesisDoc) *queries {
	q := &queries{params: rpc.EncodeSlashingParamsResponse(rpc.EncodeSlashingParams(rpc.SlashingRecord{
		SignedBlocksWindow: SignedBlocksWindow, MinSignedPerWindow: minSignedDec, DowntimeJailSeconds: 600,
		SlashFractionDoubleSign: "50000000000000000", SlashFractionDowntime: "10000000000000000"}))}
	type entry struct{ key, val []byte }
	es := make([]entry, 0, len(gen.Validators))
	for i, gv := range gen.Validators {
		addr := []byte(gv.Address)
		tokens := strconv.FormatInt(gv.Power*1_000_000, 10)
		v := rpc.EncodeStakingValidator(rpc.StakingRecord{Operator: bech32(OperatorPrefix, addr), PubKey: gv.PubKey.Bytes(),
			Status: rpc.BondStatusBonded, Tokens: tokens, DelegatorShares: tokens + "000000000000000000",
			Moniker: StakingMoniker(i), Website: "https://github.com/valtrack/valtrack"})
		// x/staking's ValidatorsKey: 0x21, then the length-prefixed
		// operator address bytes.
		key := append([]byte{0x21, byte(len(addr))}, addr...)
		es = append(es, entry{key, v})
	}
	sort.Slice(es, func(a, b int) bool { return bytes.Compare(es[a].key, es[b].key) < 0 })
	for _, e := range es {
		q.keys, q.vals = append(q.keys, e.key), append(q.vals, e.val)
	}
	return q
}

// answer is the response to method (a gRPC method name, which is also the
// abci_query path) with request data; ok false when the devnet has no such
// query.
func (q *queries) answer(method string, data []byte) (value []byte, ok bool, err error) {
	switch method {
	case rpc.SlashingParamsPath:
		return q.params, true, nil
	case rpc.StakingValidatorsPath:
		v, err := q.validators(data)
		return v, true, err
	}
	return nil, false, nil
}

// validators is a page of the validators as x/staking's Paginate gives
// it: from the key, else from the offset; at most the limit
// (DefaultPageLimit when 0); next_key the key of the first validator
// left out; total on request, on a page asked by offset.
func (q *queries) validators(data []byte) ([]byte, error) {
	r, err := rpc.DecodeStakingValidatorsRequest(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
	}
	if len(r.Key) > 0 && r.Offset > 0 {
		return nil, fmt.Errorf("%w: either offset or key is expected, got both", rpc.ErrBadRequest)
	}
	if r.Limit > MaxPageLimit {
		return nil, fmt.Errorf("%w: limit %d: at most %d", rpc.ErrBadRequest, r.Limit, MaxPageLimit)
	}
	limit := int(r.Limit)
	if limit == 0 {
		limit = DefaultPageLimit
	}
	// Every devnet validator is bonded: another status has none.
	keys, vals := q.keys, q.vals
	if r.Status != "" && r.Status != "BOND_STATUS_BONDED" {
		keys, vals = nil, nil
	}
	from := int(min(r.Offset, uint64(len(keys))))
	if len(r.Key) > 0 {
		from = sort.Search(len(keys), func(i int) bool { return bytes.Compare(keys[i], r.Key) >= 0 })
	}
	to := min(from+limit, len(keys))
	var next []byte
	if to < len(keys) {
		next = keys[to]
	}
	var total uint64
	if r.CountTotal && len(r.Key) == 0 {
		total = uint64(len(keys))
	}
	return rpc.EncodeStakingValidatorsResponse(vals[from:to], next, total), nil
}

// app is the kvstore application answering the queries above too.
type app struct {
	*kvstore.Application
	q *queries
}

// Query answers the two cosmos-sdk queries, as a cosmos-sdk application
// does over abci_query: code 0 and the response, or a non-zero code and
// the reason. Any other path is the kvstore's.
func (a *app) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	value, ok, err := a.q.answer(req.Path, req.Data)
	if !ok {
		return a.Application.Query(ctx, req)
	}
	var height int64
	if info, ierr := a.Application.Info(ctx, &abci.RequestInfo{}); ierr == nil {
		height = info.LastBlockHeight
	}
	if err != nil {
		// The SDK's codespace "sdk", code 18: ErrInvalidRequest.
		return &abci.ResponseQuery{Code: 18, Codespace: "sdk", Log: err.Error(), Height: height}, nil
	}
	return &abci.ResponseQuery{Value: value, Height: height}, nil
}
