package devnet

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"
	"golang.org/x/crypto/blake2b"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// wndDecimals: WND has 12 decimals (system_properties).
var wndUnit = new(big.Int).Exp(big.NewInt(10), big.NewInt(12), nil)

func wnd(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), wndUnit) }

// plainKey is the storage key of a plain item: xxhash128(pallet) ‖
// xxhash128(item).
func plainKey(pallet, item string) []byte {
	return append(xxhash.New128([]byte(pallet)).Sum(nil), xxhash.New128([]byte(item)).Sum(nil)...)
}

// twox64ConcatKey is the key of a Twox64Concat map entry.
func twox64ConcatKey(pallet, item string, key []byte) []byte {
	k := plainKey(pallet, item)
	k = append(k, xxhash.New64(key).Sum(nil)...)
	return append(k, key...)
}

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

// getStorage reads a raw value at the head; nil when absent.
func getStorage(ctx context.Context, p *chopsticks.Process, key []byte) ([]byte, error) {
	res, err := p.Call(ctx, "state_getStorage", hex0x(key))
	if err != nil {
		return nil, err
	}
	var s *string
	if err := json.Unmarshal(res, &s); err != nil {
		return nil, fmt.Errorf("state_getStorage: %s: %w", res, err)
	}
	if s == nil {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(*s, "0x"))
	if err != nil {
		return nil, fmt.Errorf("state_getStorage: not hex: %w", err)
	}
	return b, nil
}

func getU64(ctx context.Context, p *chopsticks.Process, pallet, item string) (uint64, error) {
	b, err := getStorage(ctx, p, plainKey(pallet, item))
	if err != nil {
		return 0, fmt.Errorf("read %s.%s: %w", pallet, item, err)
	}
	if len(b) < 8 {
		return 0, fmt.Errorf("%s.%s is %d bytes, want a u64", pallet, item, len(b))
	}
	return binary.LittleEndian.Uint64(b), nil
}

// activeEra reads Staking.ActiveEra's index (0 when unset).
func activeEra(ctx context.Context, p *chopsticks.Process) (uint32, error) {
	b, err := getStorage(ctx, p, plainKey("Staking", "ActiveEra"))
	if err != nil {
		return 0, fmt.Errorf("read Staking.ActiveEra: %w", err)
	}
	if len(b) < 4 {
		return 0, nil
	}
	return binary.LittleEndian.Uint32(b), nil
}

// sessionValidators reads Session.Validators (Vec<AccountId32>).
func sessionValidators(ctx context.Context, p *chopsticks.Process) ([]tx.AccountID, error) {
	b, err := getStorage(ctx, p, plainKey("Session", "Validators"))
	if err != nil {
		return nil, fmt.Errorf("read Session.Validators: %w", err)
	}
	n, off, err := compact(b)
	if err != nil {
		return nil, fmt.Errorf("Session.Validators: %w", err)
	}
	if n > uint64(len(b)) || uint64(len(b)-off) < 32*n {
		return nil, fmt.Errorf("Session.Validators: %d accounts in %d bytes", n, len(b))
	}
	out := make([]tx.AccountID, n)
	for i := range out {
		copy(out[i][:], b[off+32*i:])
	}
	return out, nil
}

// compact decodes a SCALE compact integer (up to the 4-byte mode; longer
// lengths are not needed for these reads), returning value and size.
func compact(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("empty compact")
	}
	switch b[0] & 3 {
	case 0:
		return uint64(b[0] >> 2), 1, nil
	case 1:
		if len(b) < 2 {
			return 0, 0, fmt.Errorf("short compact")
		}
		return uint64(binary.LittleEndian.Uint16(b) >> 2), 2, nil
	case 2:
		if len(b) < 4 {
			return 0, 0, fmt.Errorf("short compact")
		}
		return uint64(binary.LittleEndian.Uint32(b) >> 2), 4, nil
	}
	return 0, 0, fmt.Errorf("big-integer compact not supported here")
}

func encCompact(v uint64) []byte {
	switch {
	case v < 1<<6:
		return []byte{byte(v << 2)}
	case v < 1<<14:
		return binary.LittleEndian.AppendUint16(nil, uint16(v<<2|1))
	case v < 1<<30:
		return binary.LittleEndian.AppendUint32(nil, uint32(v<<2|2))
	}
	le := binary.LittleEndian.AppendUint64(nil, v)
	for len(le) > 4 && le[len(le)-1] == 0 {
		le = le[:len(le)-1]
	}
	return append([]byte{byte(len(le)-4)<<2 | 3}, le...)
}

// blake2ConcatKey is the key of a Blake2_128Concat map entry.
func blake2ConcatKey(pallet, item string, key []byte) []byte {
	h, _ := blake2b.New(16, nil)
	h.Write(key)
	k := append(plainKey(pallet, item), h.Sum(nil)...)
	return append(k, key...)
}

// erasStakersKey is Staking.ErasStakers(era, stash): Twox64Concat both.
func erasStakersKey(era uint32, stash tx.AccountID) []byte {
	e := binary.LittleEndian.AppendUint32(nil, era)
	k := append(plainKey("Staking", "ErasStakers"), xxhash.New64(e).Sum(nil)...)
	k = append(k, e...)
	k = append(k, xxhash.New64(stash[:]).Sum(nil)...)
	return append(k, stash[:]...)
}
