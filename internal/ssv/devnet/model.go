package devnet

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
)

// pending is one event to emit in the next block; logged, when set, sees
// the log once the block is sealed (to record where it landed).
type pending struct {
	name   string
	args   []any
	logged func(l *types.Log)
}

// cluster is the model's view of one cluster: the registry's row and the
// contract's tuple that the next event about it carries.
type cluster struct {
	reg   registry.Cluster
	t     clusterTuple
	owner common.Address
	ids   []uint64
}

// model is the registry the devnet has emitted, kept the way the SSV node
// and valtrack apply events: only valid registrations become validators
// and count on their operators; every ValidatorAdded bumps its owner's
// nonce and, as the contract (which does not look at shares) does, adds
// one validator and its deposit to its cluster.
// Only the devnet's loop goroutine touches it.
type model struct {
	ops      map[uint64]*registry.Operator
	vals     []*registry.Validator
	valByKey map[string]*registry.Validator // public key ‖ owner
	clusters map[string]*cluster            // by cluster id
	owners   map[common.Address]*registry.Owner
	invalid  []*registry.Invalid
	events   map[string]int

	block uint64 // the block being built
	queue []pending

	// version and v2Block: the implementation of the last upgrade
	// (upgrade) and, when it is v2, its block: clusters created from it on
	// pay in ETH, as under SSVNetwork v2.0.0.
	version string
	v2Block uint64
}

func newModel() *model {
	return &model{
		ops: map[uint64]*registry.Operator{}, valByKey: map[string]*registry.Validator{},
		clusters: map[string]*cluster{}, owners: map[common.Address]*registry.Owner{}, events: map[string]int{},
	}
}

func (m *model) emit(p pending) { m.queue = append(m.queue, p) }

// clusterID is abi.ClusterID: keccak256(owner ‖ each operator id as 32
// bytes), as the contract and the node compute it.
func clusterID(owner common.Address, ids []uint64) string {
	return abi.ClusterID(owner, ids).Hex()
}

func (m *model) owner(a common.Address) *registry.Owner {
	o, ok := m.owners[a]
	if !ok {
		o = &registry.Owner{Address: a.Hex()}
		m.owners[a] = o
	}
	return o
}

func (m *model) cluster(owner common.Address, ids []uint64) *cluster {
	id := clusterID(owner, ids)
	c, ok := m.clusters[id]
	if !ok {
		token := "SSV"
		if m.v2Block > 0 {
			token = "ETH"
		}
		c = &cluster{
			reg:   registry.Cluster{ID: id, Owner: owner.Hex(), OperatorIDs: slices.Clone(ids), Active: true, Balance: "0", FeeToken: token},
			t:     clusterTuple{Active: true, Balance: new(big.Int)},
			owner: owner, ids: slices.Clone(ids),
		}
	}
	return c
}

// store records a cluster after a change and returns the tuple to emit.
func (m *model) store(c *cluster) clusterTuple {
	c.reg.ValidatorCount = c.t.ValidatorCount
	c.reg.NetworkFeeIndex = c.t.NetworkFeeIndex
	c.reg.Index = c.t.Index
	c.reg.Active = c.t.Active
	c.reg.Balance = c.t.Balance.String()
	c.reg.UpdatedBlock = m.block
	m.clusters[c.reg.ID] = c
	t := c.t
	t.Balance = new(big.Int).Set(c.t.Balance)
	return t
}

// addOperator emits OperatorAdded for the next operator id.
func (m *model) addOperator(owner common.Address, publicKey string, fee *big.Int) error {
	id := uint64(len(m.ops)) + 1
	m.ops[id] = &registry.Operator{ID: id, Owner: owner.Hex(), PublicKey: publicKey, Fee: fee.String(), AddedBlock: m.block, UpdatedBlock: m.block}
	m.emit(pending{name: "OperatorAdded", args: []any{id, owner, publicKey, fee}})
	return nil
}

func (m *model) operator(id uint64) (*registry.Operator, common.Address, error) {
	op, ok := m.ops[id]
	if !ok || op.Removed {
		return nil, common.Address{}, fmt.Errorf("operator %d is not registered", id)
	}
	return op, common.HexToAddress(op.Owner), nil
}

func (m *model) removeOperator(id uint64) error {
	op, _, err := m.operator(id)
	if err != nil {
		return err
	}
	op.Removed, op.UpdatedBlock = true, m.block
	m.emit(pending{name: "OperatorRemoved", args: []any{id}})
	return nil
}

func (m *model) declareFee(id uint64, fee *big.Int) error {
	op, owner, err := m.operator(id)
	if err != nil {
		return err
	}
	op.PendingFee, op.PendingFeeBlock, op.UpdatedBlock = fee.String(), m.block, m.block
	m.emit(pending{name: "OperatorFeeDeclared", args: []any{owner, id, new(big.Int).SetUint64(m.block), fee}})
	return nil
}

func (m *model) executeFee(id uint64) error {
	op, owner, err := m.operator(id)
	if err != nil {
		return err
	}
	if op.PendingFee == "" {
		return fmt.Errorf("operator %d has no declared fee to execute", id)
	}
	fee, _ := new(big.Int).SetString(op.PendingFee, 10)
	op.Fee, op.PendingFee, op.PendingFeeBlock, op.UpdatedBlock = op.PendingFee, "", 0, m.block
	m.emit(pending{name: "OperatorFeeExecuted", args: []any{owner, id, new(big.Int).SetUint64(m.block), fee}})
	return nil
}

// addValidator emits ValidatorAdded for sk, owner and operators, with
// shares signed for the owner's nonce — or for signNonce when it is set,
// which makes an invalid registration. amount is deposited with it.
// Registrations the node refuses (shares.Check) are recorded as Invalid
// and are no validator, but change their cluster as valid ones do; every
// one bumps the owner's nonce.
func (m *model) addValidator(sk *shares.SecretKey, owner common.Address, ids []uint64, signNonce *uint64, amount *big.Int) error {
	nonce := m.owner(owner).Nonce
	sign := nonce
	if signNonce != nil {
		sign = *signNonce
	}
	sh, err := shares.Build(sk, owner, sign, len(ids))
	if err != nil {
		return fmt.Errorf("build shares for %s nonce %d: %w", owner, sign, err)
	}
	pub := sk.PublicKey()
	return m.register(pub, owner, ids, sh, amount, shares.Check(owner, nonce, pub, ids, sh))
}

// register emits ValidatorAdded for shares already built: cerr is the
// node's verdict on them at the owner's nonce (nil: valid), so that
// shares built ahead, at the nonce they will have, need no second check.
func (m *model) register(pub []byte, owner common.Address, ids []uint64, sh []byte, amount *big.Int, cerr error) error {
	o := m.owner(owner)
	nonce := o.Nonce
	o.Nonce++
	c := m.cluster(owner, ids)
	if cerr != nil {
		inv := &registry.Invalid{Block: m.block, Owner: owner.Hex(), PublicKey: hexKey(pub), Operators: slices.Clone(ids), Nonce: nonce, Reason: cerr.Error()}
		m.invalid = append(m.invalid, inv)
		// The contract registers the key whatever its shares: the cluster
		// counts it and holds its deposit. Operators' counts are the
		// node's (validators it runs), which this one is not.
		c.t.ValidatorCount++
		c.t.Balance.Add(c.t.Balance, amount)
		m.emit(pending{name: "ValidatorAdded", args: []any{owner, ids, pub, sh, m.store(c)}, logged: func(l *types.Log) {
			inv.TxHash, inv.LogIndex = l.TxHash.Hex(), l.Index
		}})
		return nil
	}
	for _, id := range ids {
		op, _, err := m.operator(id)
		if err != nil {
			return fmt.Errorf("register validator %s: %w", hexKey(pub), err)
		}
		op.ValidatorCount++
		op.UpdatedBlock = m.block
	}
	v := &registry.Validator{
		Index: uint64(len(m.vals)) + 1, PublicKey: hexKey(pub), Owner: owner.Hex(), OperatorIDs: slices.Clone(ids),
		ClusterID: c.reg.ID, Status: registry.StatusActive, Liquidated: !c.t.Active, AddedBlock: m.block, UpdatedBlock: m.block,
	}
	m.vals = append(m.vals, v)
	m.valByKey[v.PublicKey+v.Owner] = v
	c.t.ValidatorCount++
	c.t.Balance.Add(c.t.Balance, amount)
	m.emit(pending{name: "ValidatorAdded", args: []any{owner, ids, pub, sh, m.store(c)}})
	return nil
}

func (m *model) validator(owner common.Address, pub []byte) (*registry.Validator, error) {
	v, ok := m.valByKey[hexKey(pub)+owner.Hex()]
	if !ok || v.Status == registry.StatusRemoved {
		return nil, fmt.Errorf("validator %s of %s is not registered", hexKey(pub), owner)
	}
	return v, nil
}

func (m *model) exitValidator(owner common.Address, pub []byte) error {
	v, err := m.validator(owner, pub)
	if err != nil {
		return err
	}
	v.Status, v.UpdatedBlock = registry.StatusExited, m.block
	m.emit(pending{name: "ValidatorExited", args: []any{owner, v.OperatorIDs, pub}})
	return nil
}

func (m *model) removeValidator(owner common.Address, pub []byte) error {
	v, err := m.validator(owner, pub)
	if err != nil {
		return err
	}
	v.Status, v.UpdatedBlock = registry.StatusRemoved, m.block
	for _, id := range v.OperatorIDs {
		if op, ok := m.ops[id]; ok {
			op.ValidatorCount--
			op.UpdatedBlock = m.block
		}
	}
	c := m.clusters[v.ClusterID]
	c.t.ValidatorCount--
	m.emit(pending{name: "ValidatorRemoved", args: []any{owner, v.OperatorIDs, pub, m.store(c)}})
	return nil
}

func (m *model) existing(owner common.Address, ids []uint64) (*cluster, error) {
	c, ok := m.clusters[clusterID(owner, ids)]
	if !ok {
		return nil, fmt.Errorf("no cluster of %s with operators %v", owner, ids)
	}
	return c, nil
}

// setLiquidated marks the validators of a cluster. The contract takes a
// liquidated cluster's validators off its operators' counts and gives them
// back on reactivation (ClusterLib updateClusterOperators), so the
// operators' ValidatorCount follows.
func (m *model) setLiquidated(c *cluster, liquidated bool) {
	n := 0
	for _, v := range m.vals {
		if v.ClusterID == c.reg.ID && v.Status != registry.StatusRemoved {
			v.Liquidated, v.UpdatedBlock = liquidated, m.block
			n++
		}
	}
	for _, id := range c.reg.OperatorIDs {
		op, _, err := m.operator(id)
		if err != nil {
			continue
		}
		if liquidated {
			op.ValidatorCount -= n
		} else {
			op.ValidatorCount += n
		}
		op.UpdatedBlock = m.block
	}
}

func (m *model) liquidate(owner common.Address, ids []uint64) error {
	c, err := m.existing(owner, ids)
	if err != nil {
		return err
	}
	c.t.Active, c.t.Balance = false, new(big.Int)
	m.setLiquidated(c, true)
	m.emit(pending{name: "ClusterLiquidated", args: []any{owner, ids, m.store(c)}})
	return nil
}

func (m *model) reactivate(owner common.Address, ids []uint64, amount *big.Int) error {
	c, err := m.existing(owner, ids)
	if err != nil {
		return err
	}
	c.t.Active = true
	c.t.Balance.Add(c.t.Balance, amount)
	c.t.Index = m.block // the contract resets the cluster's indexes on reactivation
	m.setLiquidated(c, false)
	m.emit(pending{name: "ClusterReactivated", args: []any{owner, ids, m.store(c)}})
	return nil
}

func (m *model) deposit(owner common.Address, ids []uint64, amount *big.Int) error {
	c, err := m.existing(owner, ids)
	if err != nil {
		return err
	}
	c.t.Balance.Add(c.t.Balance, amount)
	m.emit(pending{name: "ClusterDeposited", args: []any{owner, ids, amount, m.store(c)}})
	return nil
}

func (m *model) withdraw(owner common.Address, ids []uint64, amount *big.Int) error {
	c, err := m.existing(owner, ids)
	if err != nil {
		return err
	}
	if c.t.Balance.Cmp(amount) < 0 {
		return fmt.Errorf("withdraw %s from a cluster of %s holding %s", amount, owner, c.t.Balance)
	}
	c.t.Balance.Sub(c.t.Balance, amount)
	m.emit(pending{name: "ClusterWithdrawn", args: []any{owner, ids, amount, m.store(c)}})
	return nil
}

// upgrade emits the proxy's Upgraded(impl): impl answers getVersion()
// with version (a v2 one makes new clusters pay in ETH from this block).
func (m *model) upgrade(impl common.Address, version string) {
	m.version = version
	if strings.HasPrefix(version, "v2.") && m.v2Block == 0 {
		m.v2Block = m.block
	}
	m.emit(pending{name: "Upgraded", args: []any{impl}})
}

func (m *model) setFeeRecipient(owner, recipient common.Address) {
	m.owner(owner).FeeRecipient = recipient.Hex()
	m.emit(pending{name: "FeeRecipientAddressUpdated", args: []any{owner, recipient}})
}

func hexKey(pub []byte) string { return "0x" + hex.EncodeToString(pub) }

// account is a fixed address for a role: owners, operator owners, fee
// recipients are addresses in logs only (the emitter makes every event).
func account(role string) common.Address {
	return common.BytesToAddress(crypto.Keccak256([]byte("valtrack ssv devnet " + role))[12:])
}

// validatorKey is the k-th validator key, the same on every run.
func validatorKey(k int) (*shares.SecretKey, error) {
	return shares.GenerateKey(crypto.Keccak256([]byte("valtrack ssv devnet validator " + strconv.Itoa(k))))
}

// operatorKeys generates n RSA-2048 keys, as the base64 of their PKCS#1
// PEM: what an SSV operator registers.
func operatorKeys(n int) ([]string, error) {
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				errs[i] = fmt.Errorf("generate operator %d's RSA key: %w", i+1, err)
				return
			}
			p := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)})
			keys[i] = base64.StdEncoding.EncodeToString(p)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
}
