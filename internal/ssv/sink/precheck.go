package sink

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"runtime"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/store"
)

// The BLS check of a registration (Config.Check, ~1.7 ms) is what bounds
// the sink on one core. It depends on the owner's nonce, which is only
// known in order, inside the transaction; but the nonce is almost always
// the owner's stored nonce plus the registrations of that owner before it
// in the batch. precheck runs the check for that guess on every core
// before the transaction, and the batch uses a result only when its
// inputs — owner, nonce, key, operators, shares — are exactly those the
// transaction arrives at: a wrong guess costs the sequential check, never
// a wrong verdict.

type checkKey [32]byte

func keyOf(owner common.Address, nonce uint64, pub []byte, ops []uint64, shares []byte) checkKey {
	h := sha256.New()
	h.Write(owner[:])
	h.Write(binary.BigEndian.AppendUint64(nil, nonce))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(pub))))
	h.Write(pub)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(ops))))
	for _, id := range ops {
		h.Write(binary.BigEndian.AppendUint64(nil, id))
	}
	h.Write(shares)
	var k checkKey
	copy(k[:], h.Sum(nil))
	return k
}

type precheckJob struct {
	key    checkKey
	owner  common.Address
	nonce  uint64
	pub    []byte
	ops    []uint64
	shares []byte
}

// precheck checks the batch's registrations in parallel at their guessed
// nonces. It reads the owners' nonces outside the transaction; any error
// there only means no precomputed results.
func (s *Sink) precheck(ctx context.Context, evs []consumer.Event) map[checkKey]error {
	if s.check == nil {
		return nil
	}
	type ownerKey struct{ network, owner string }
	var jobs []precheckJob
	seen := map[ownerKey]uint64{} // registrations of the owner so far in the batch
	base := map[ownerKey]uint64{}
	for _, ev := range evs {
		v, ok := ev.Value.(*events.ContractEvent)
		if !ok || v.Name != "ValidatorAdded" {
			continue
		}
		var a clusterArgs
		if parseArgs(v.Name, v.Args, &a) != nil || a.Owner == "" {
			continue
		}
		k := ownerKey{v.Network, string(a.Owner)}
		if _, ok := base[k]; !ok {
			n, err := s.storedNonce(ctx, v.Network, string(a.Owner))
			if err != nil {
				return nil
			}
			base[k] = n
		}
		nonce := base[k] + seen[k]
		seen[k]++
		owner := common.HexToAddress(string(a.Owner))
		ops := ids(a.OperatorIDs)
		if structural(ops, &a) != "" {
			continue // refused before any check, as in the transaction
		}
		jobs = append(jobs, precheckJob{key: keyOf(owner, nonce, a.PublicKey, ops, a.Shares), owner: owner, nonce: nonce,
			pub: a.PublicKey, ops: ops, shares: a.Shares})
	}
	if len(jobs) < 2 {
		return nil // nothing to gain over checking in the transaction
	}
	out := make(map[checkKey]error, len(jobs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan precheckJob)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				err := s.check(j.owner, j.nonce, j.pub, j.ops, j.shares)
				mu.Lock()
				out[j.key] = err
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	return out
}

// storedNonce is the owner's nonce as committed (0 for a new owner).
func (s *Sink) storedNonce(ctx context.Context, network, owner string) (uint64, error) {
	var n uint64
	q := s.db.Query().SQL("SELECT nonce FROM ssv_owners WHERE network = ").Arg(network).SQL(" AND address = ").Arg(owner)
	err := s.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(store.U64Into(&n))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}
