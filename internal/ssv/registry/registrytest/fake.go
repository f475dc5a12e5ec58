// Package registrytest is an in-memory registry.Reader for the tests of
// what reads the registry (the API): a Fake holds operators, validators,
// clusters, owners, invalid registrations, sync state and the change log of
// any number of networks, and is safe for concurrent use, so a test can
// apply changes while a server reads.
//
// Its conventions are the ones the database Reader follows: public keys are
// 0x-prefixed lower-case hex, owner addresses as stored (EIP-55; compared
// case-insensitively), lists sorted by id or index, a toID/ToIndex of 0
// means no upper bound, a limit <= 0 means no limit.
package registrytest

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// Fake is an in-memory registry.Reader.
type Fake struct {
	mu   sync.RWMutex
	nets map[string]*network
	// Err, when set, is returned by every method (a failing store).
	err error
}

type network struct {
	operators  map[uint64]registry.Operator
	validators []registry.Validator // sorted by Index
	clusters   map[string]registry.Cluster
	owners     map[string]registry.Owner // key: lower-case address
	invalid    []registry.Invalid
	skipped    []registry.Skipped
	sync       *registry.Sync
	changes    []registry.Change
}

// New returns an empty Fake.
func New() *Fake { return &Fake{nets: map[string]*network{}} }

// SetErr makes every method fail with err (nil: succeed again).
func (f *Fake) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *Fake) net(name string) *network {
	n := f.nets[name]
	if n == nil {
		n = &network{operators: map[uint64]registry.Operator{}, clusters: map[string]registry.Cluster{}, owners: map[string]registry.Owner{}}
		f.nets[name] = n
	}
	return n
}

func (f *Fake) change(n *network, kind string, id uint64) {
	n.changes = append(n.changes, registry.Change{Seq: uint64(len(n.changes)) + 1, Kind: kind, ID: id})
}

// PutOperator adds or replaces an operator and logs an "operator" change.
func (f *Fake) PutOperator(networkName string, op registry.Operator) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	n.operators[op.ID] = op
	f.change(n, "operator", op.ID)
}

// PutValidator adds or replaces (by Index) a validator and logs a
// "validator" change.
func (f *Fake) PutValidator(networkName string, v registry.Validator) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	i := sort.Search(len(n.validators), func(i int) bool { return n.validators[i].Index >= v.Index })
	if i < len(n.validators) && n.validators[i].Index == v.Index {
		n.validators[i] = v
	} else {
		n.validators = slices.Insert(n.validators, i, v)
	}
	f.change(n, "validator", v.Index)
}

// DropOperator deletes an operator and logs an "operator" change, as a
// reorg's rebuild does for an operator whose OperatorAdded it rolled back.
func (f *Fake) DropOperator(networkName string, id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	delete(n.operators, id)
	f.change(n, "operator", id)
}

// DropValidator deletes a validator (by Index) and logs a "validator"
// change, as a reorg's rebuild does.
func (f *Fake) DropValidator(networkName string, index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	n.validators = slices.DeleteFunc(n.validators, func(v registry.Validator) bool { return v.Index == index })
	f.change(n, "validator", index)
}

// PutCluster adds or replaces a cluster (by ID).
func (f *Fake) PutCluster(networkName string, c registry.Cluster) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.net(networkName).clusters[c.ID] = c
}

// PutOwner adds or replaces an owner.
func (f *Fake) PutOwner(networkName string, o registry.Owner) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.net(networkName).owners[strings.ToLower(o.Address)] = o
}

// AddInvalid records a refused registration.
func (f *Fake) AddInvalid(networkName string, inv registry.Invalid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	n.invalid = append(n.invalid, inv)
}

// AddSkipped records a skipped log.
func (f *Fake) AddSkipped(networkName string, sk registry.Skipped) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	n.skipped = append(n.skipped, sk)
}

// SetSync sets the sync state.
func (f *Fake) SetSync(networkName string, s registry.Sync) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.net(networkName).sync = &s
}

// AddNetwork makes a network known with no data.
func (f *Fake) AddNetwork(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.net(name)
}

// read runs fn on the network under the read lock; a network the fake does
// not hold reads as empty.
func (f *Fake) read(name string, fn func(n *network)) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.err != nil {
		return f.err
	}
	n := f.nets[name]
	if n == nil {
		n = &network{}
	}
	fn(n)
	return nil
}

func limitOf(limit, n int) int {
	if limit <= 0 || limit > n {
		return n
	}
	return limit
}

// Networks implements registry.Reader.
func (f *Fake) Networks(context.Context) ([]string, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []string
	for n := range f.nets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Operators implements registry.Reader.
func (f *Fake) Operators(_ context.Context, networkName string, fromID, toID uint64, limit int) ([]registry.Operator, error) {
	var out []registry.Operator
	err := f.read(networkName, func(n *network) {
		for _, op := range n.operators {
			if op.ID >= fromID && (toID == 0 || op.ID <= toID) {
				out = append(out, op)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:limitOf(limit, len(out))], err
}

// Operator implements registry.Reader.
func (f *Fake) Operator(_ context.Context, networkName string, id uint64) (*registry.Operator, error) {
	var out *registry.Operator
	err := f.read(networkName, func(n *network) {
		if op, ok := n.operators[id]; ok {
			out = &op
		}
	})
	return out, err
}

// OperatorsByKey implements registry.Reader.
func (f *Fake) OperatorsByKey(_ context.Context, networkName, publicKey string, limit int) ([]registry.Operator, error) {
	var out []registry.Operator
	err := f.read(networkName, func(n *network) {
		for _, op := range n.operators {
			if op.PublicKey == publicKey {
				out = append(out, op)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:limitOf(limit, len(out))], err
}

// Validators implements registry.Reader.
func (f *Fake) Validators(_ context.Context, networkName string, fl registry.ValidatorFilter) ([]registry.Validator, error) {
	var out []registry.Validator
	err := f.read(networkName, func(n *network) {
		i := sort.Search(len(n.validators), func(i int) bool { return n.validators[i].Index >= fl.FromIndex })
		for ; i < len(n.validators); i++ {
			v := n.validators[i]
			if fl.ToIndex != 0 && v.Index > fl.ToIndex {
				break
			}
			if matches(v, fl) {
				out = append(out, v)
				if fl.Limit > 0 && len(out) == fl.Limit {
					break
				}
			}
		}
	})
	return out, err
}

func matches(v registry.Validator, fl registry.ValidatorFilter) bool {
	if fl.Status != "" && v.Status != fl.Status || fl.NotRemoved && v.Status == registry.StatusRemoved {
		return false
	}
	if len(fl.Subclusters) > 0 && !slices.ContainsFunc(fl.Subclusters, func(c []uint64) bool {
		return !slices.ContainsFunc(c, func(id uint64) bool { return !slices.Contains(v.OperatorIDs, id) })
	}) {
		return false
	}
	if len(fl.Owners) > 0 && !slices.ContainsFunc(fl.Owners, func(o string) bool { return strings.EqualFold(o, v.Owner) }) {
		return false
	}
	if len(fl.Operators) > 0 && !slices.ContainsFunc(fl.Operators, func(id uint64) bool { return slices.Contains(v.OperatorIDs, id) }) {
		return false
	}
	if len(fl.ClusterIDs) > 0 && !slices.ContainsFunc(fl.ClusterIDs, func(id string) bool { return strings.EqualFold(id, v.ClusterID) }) {
		return false
	}
	if len(fl.Clusters) > 0 && !slices.ContainsFunc(fl.Clusters, func(c []uint64) bool { return slices.Equal(c, v.OperatorIDs) }) {
		return false
	}
	if len(fl.PublicKeys) > 0 && !slices.Contains(fl.PublicKeys, v.PublicKey) {
		return false
	}
	if len(fl.Indices) > 0 && !slices.Contains(fl.Indices, v.Index) {
		return false
	}
	if len(fl.BeaconIndices) > 0 && (v.Beacon == nil || !slices.Contains(fl.BeaconIndices, v.Beacon.Index)) {
		return false
	}
	return true
}

// SetBeacon gives every registration of a public key its beacon-chain
// state (what the beacon analyzer stores).
func (f *Fake) SetBeacon(networkName, publicKey string, b registry.Beacon) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.net(networkName)
	for i := range n.validators {
		if n.validators[i].PublicKey == publicKey {
			bb := b
			n.validators[i].Beacon = &bb
		}
	}
}

// HasBeacon implements registry.Reader: whether a validator of the
// network carries beacon-chain state.
func (f *Fake) HasBeacon(_ context.Context, networkName string) (bool, error) {
	has := false
	err := f.read(networkName, func(n *network) {
		has = slices.ContainsFunc(n.validators, func(v registry.Validator) bool { return v.Beacon != nil })
	})
	return has, err
}

// ValidatorsByKey implements registry.Reader.
func (f *Fake) ValidatorsByKey(_ context.Context, networkName, publicKey string) ([]registry.Validator, error) {
	var out []registry.Validator
	err := f.read(networkName, func(n *network) {
		for _, v := range n.validators {
			if v.PublicKey == publicKey {
				out = append(out, v)
			}
		}
	})
	return out, err
}

// Clusters implements registry.Reader.
func (f *Fake) Clusters(_ context.Context, networkName string, fl registry.ClusterFilter) ([]registry.Cluster, error) {
	var out []registry.Cluster
	err := f.read(networkName, func(n *network) {
		for _, c := range n.clusters {
			if (fl.Owner == "" || strings.EqualFold(fl.Owner, c.Owner)) && (fl.After == "" || c.ID > fl.After) {
				out = append(out, c)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:limitOf(fl.Limit, len(out))], err
}

// Owner implements registry.Reader.
func (f *Fake) Owner(_ context.Context, networkName, address string) (*registry.Owner, error) {
	var out *registry.Owner
	err := f.read(networkName, func(n *network) {
		if o, ok := n.owners[strings.ToLower(address)]; ok {
			out = &o
		}
	})
	return out, err
}

// Invalid implements registry.Reader.
func (f *Fake) Invalid(_ context.Context, networkName string, fl registry.InvalidFilter) ([]registry.Invalid, error) {
	var out []registry.Invalid
	err := f.read(networkName, func(n *network) {
		out = newestBefore(n.invalid, fl, func(v registry.Invalid) (uint64, uint) { return v.Block, v.LogIndex })
	})
	return out, err
}

// Skipped implements registry.Reader.
func (f *Fake) Skipped(_ context.Context, networkName string, fl registry.SkippedFilter) ([]registry.Skipped, error) {
	var out []registry.Skipped
	err := f.read(networkName, func(n *network) {
		out = newestBefore(n.skipped, fl, func(v registry.Skipped) (uint64, uint) { return v.Block, v.LogIndex })
	})
	return out, err
}

// newestBefore is the items of a log list before fl's place in the
// chain, newest first, at most fl.Limit.
func newestBefore[T any](items []T, fl registry.InvalidFilter, place func(T) (uint64, uint)) []T {
	var out []T
	for _, v := range items {
		if b, li := place(v); fl.BeforeBlock == 0 || b < fl.BeforeBlock || (b == fl.BeforeBlock && li < fl.BeforeLogIndex) {
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		bi, li := place(out[i])
		bj, lj := place(out[j])
		if bi != bj {
			return bi > bj
		}
		return li > lj
	})
	return out[:limitOf(fl.Limit, len(out))]
}

// Sync implements registry.Reader.
func (f *Fake) Sync(_ context.Context, networkName string) (*registry.Sync, error) {
	var out *registry.Sync
	err := f.read(networkName, func(n *network) {
		if n.sync != nil {
			s := *n.sync
			out = &s
		}
	})
	return out, err
}

// Counts implements registry.Reader.
func (f *Fake) Counts(_ context.Context, networkName string) (registry.Counts, error) {
	c := registry.Counts{ByStatus: map[string]int{}, ClusterSizes: map[int]int{}}
	err := f.read(networkName, func(n *network) {
		for _, op := range n.operators {
			if op.Removed {
				c.OperatorsRemoved++
			} else {
				c.Operators++
			}
		}
		for _, v := range n.validators {
			c.Validators++
			c.ByStatus[v.Status]++
		}
		for _, cl := range n.clusters {
			c.Clusters++
			if !cl.Active {
				c.ClustersLiquidated++
			}
			c.ClusterSizes[len(cl.OperatorIDs)]++
		}
		c.Invalid = len(n.invalid)
	})
	return c, err
}

// ChangesAfter implements registry.Reader.
func (f *Fake) ChangesAfter(_ context.Context, networkName string, seq uint64, limit int) ([]registry.Change, error) {
	var out []registry.Change
	err := f.read(networkName, func(n *network) {
		if seq < uint64(len(n.changes)) {
			out = slices.Clone(n.changes[seq:])
		}
	})
	return out[:limitOf(limit, len(out))], err
}

// LastChange implements registry.Reader.
func (f *Fake) LastChange(_ context.Context, networkName string) (uint64, error) {
	var out uint64
	err := f.read(networkName, func(n *network) { out = uint64(len(n.changes)) })
	return out, err
}

var _ registry.Reader = (*Fake)(nil)
