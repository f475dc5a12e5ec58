package devnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/valtrack/valtrack/internal/devnetlock"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// Start-up limits.
const (
	startWorkers      = 4
	bootnodeCheckWait = 10 * time.Second
	// nodesPerDB is how many nodes share one in-memory discv5 database.
	// One database for all makes every table's seed query walk every
	// node's records (minutes of CPU at 500 nodes); one each costs a
	// 4 MiB leveldb write buffer per node (2 GiB at 500 nodes).
	nodesPerDB       = 16
	allAttnets       = 64
	allSyncnets byte = 0x0f
)

// NodeInfo is a snapshot of one node's current state.
type NodeInfo struct {
	PeerID           string
	NodeID           string // hex, 64 characters
	ENR              string
	Validators       int
	LongLivedSubnets []uint64
	AllSubnets       bool
	Client           string
	MetaData         reqresp.MetaData
	// SubscribedAttnets are the attestation subnets the node is joined to
	// over gossipsub now; SubscribedSyncnets likewise for sync committees.
	SubscribedAttnets  []uint64
	SubscribedSyncnets []uint64
	ForkDigest         string // 0x-hex
	IP                 string
	TCPPort            int
	UDPPort            int
	QUICPort           int // 0 when the node has no QUIC
}

// Devnet is a running local network.
type Devnet struct {
	o         Options
	net       *network.Network
	params    subnets.Params
	sched     *schedule
	nodes     []*node
	bootnodes []string
	dbs       []*enode.DB

	cancel    context.CancelFunc
	loopWG    sync.WaitGroup // the slot loop and the heal loop
	nb        neighbours
	closeOnce sync.Once
	closeErr  error

	// Owned by the slot loop (and Start before the loop runs).
	first      bool
	lastEpoch  uint64
	syncPeriod uint64
	syncBits   []byte
	duties     map[uint64]map[uint64][]Duty // epoch -> slot -> duties

	truthMu sync.Mutex
	release func() // the directory's lock
}

// Start starts every node and writes Dir/config.yaml, bootstrap_nodes.txt,
// genesis.json and truth.json. It returns once every node listens, the
// bootnodes answer discv5 pings and the warm-up has put every node in other
// nodes' discv5 tables (so a crawler can find all of them); the nodes then
// run until Close. ctx bounds the start only.
func Start(ctx context.Context, o Options) (_ *Devnet, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("devnet: create directory: %w", err)
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("devnet: resolve directory %s: %w", o.Dir, err)
	}
	o.Dir = abs
	// A devnet that still runs keeps its directory: its genesis.json and
	// bootstrap_nodes.txt are what `valtrack run --eth` joins.
	release, err := devnetlock.Acquire(abs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	if o.Seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("devnet: pick a seed: %w", err)
		}
		o.Seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
		if o.Seed == 0 {
			o.Seed = 1
		}
	}
	rng := mrand.New(mrand.NewPCG(uint64(o.Seed), 0x7661_6c74_7261_636b))
	counts, err := parseValidators(o.Validators, o.Nodes, rng)
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	var total uint64
	for _, c := range counts {
		total += uint64(c)
	}
	active := o.ActiveValidators
	if active == 0 {
		active = total
	}
	large := pick(rng, o.Nodes, o.LargeNodeShare)
	quicNodes := pick(rng, o.Nodes, o.QUICShare)

	// Genesis is now, rounded down to a whole slot, so slot 0 is running.
	now := time.Now()
	gt := now.Unix()
	if o.SlotDuration >= time.Second && o.SlotDuration%time.Second == 0 {
		gt -= gt % int64(o.SlotDuration/time.Second)
	}
	gvr := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("valtrack-devnet-gvr"), uint64(o.Seed)))
	cfgText := configYAML(o)
	cfg, err := network.ParseConfig(bytes.NewReader(cfgText))
	if err != nil {
		return nil, fmt.Errorf("devnet: the generated config.yaml does not parse (a bug): %w", err)
	}
	if err := writeAtomic(o.Dir, network.ConfigFile, cfgText); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	if err := writeJSON(o.Dir, network.GenesisFile, genesisJSON{
		GenesisTime: gt, GenesisValidatorsRoot: "0x" + hex.EncodeToString(gvr[:]), ActiveValidators: active,
	}); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	d := &Devnet{
		o: o,
		net: &network.Network{
			Name: o.Name, Config: cfg, GenesisTime: time.Unix(gt, 0).UTC(),
			GenesisValidatorsRoot: gvr, ActiveValidators: active, Dir: o.Dir,
		},
		params: subnets.Params{
			SubnetsPerNode:                cfg.SubnetsPerNode,
			AttestationSubnetCount:        cfg.AttestationSubnetCount,
			AttestationSubnetPrefixBits:   cfg.AttestationSubnetPrefixBits,
			EpochsPerSubnetSubscription:   cfg.EpochsPerSubnetSubscription,
			SlotsPerEpoch:                 cfg.SlotsPerEpoch,
			TargetCommitteeSize:           cfg.TargetCommitteeSize,
			MaxCommitteesPerSlot:          cfg.MaxCommitteesPerSlot,
			TargetAggregatorsPerCommittee: cfg.TargetAggregatorsPerCommittee,
			SyncCommitteeSubnetCount:      cfg.SyncCommitteeSubnetCount,
			SyncCommitteeSize:             cfg.SyncCommitteeSize,
			ShuffleRoundCount:             shuffleRoundCount,
		},
		first:   true,
		duties:  map[uint64]map[uint64][]Duty{},
		release: release,
	}
	d.sched = newSchedule(counts, o.Seed, d.params, cfg.EpochsPerSyncCommitteePeriod)
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	for i := 0; i < (o.Nodes+nodesPerDB-1)/nodesPerDB; i++ {
		db, err := enode.OpenDB("")
		if err != nil {
			return nil, fmt.Errorf("devnet: open discv5 node database: %w", err)
		}
		d.dbs = append(d.dbs, db)
	}
	ip := net.ParseIP(o.BindIP).To4()
	for i := 0; i < o.Nodes; i++ {
		key, err := deriveKey(o.Seed, i)
		if err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		n := &node{
			idx: i, key: key, id: enode.PubkeyToIDV4(&key.PublicKey), client: o.Clients[i%len(o.Clients)],
			validators: counts[i], large: large[i], quic: quicNodes[i], ip: ip, d: d,
			topics: map[string]*pubsub.Topic{}, subs: map[string]*pubsub.Subscription{},
		}
		n.meta.CustodyGroupCount = custodyGroupCount(counts[i], large[i])
		d.nodes = append(d.nodes, n)
	}
	d.advertise(d.epochNow())

	phase := time.Now()
	if err := d.parallel(d.nodes, func(n *node) error { return n.startHost(runCtx, o.BindIP) }); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	o.Log.Debug("devnet libp2p hosts started", "took", time.Since(phase))
	phase = time.Now()
	nb := min(o.Nodes, 3)
	if o.Nodes < 10 {
		nb = min(o.Nodes, 2)
	}
	var boot []*enode.Node
	for _, n := range d.nodes[:nb] {
		if err := n.startDiscovery(d.dbs[n.idx/nodesPerDB], boot); err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		boot = append(boot, n.ln.Node())
	}
	if err := d.parallel(d.nodes[nb:], func(n *node) error { return n.startDiscovery(d.dbs[n.idx/nodesPerDB], boot) }); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	o.Log.Debug("devnet discv5 nodes started", "took", time.Since(phase))
	phase = time.Now()
	for _, b := range boot {
		d.bootnodes = append(d.bootnodes, b.String())
	}
	if err := writeAtomic(o.Dir, network.BootnodesFile, []byte(strings.Join(d.bootnodes, "\n")+"\n")); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	if err := d.step(d.net.SlotAt(time.Now())); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	o.Log.Debug("devnet subscriptions applied", "took", time.Since(phase))
	if err := d.checkBootnodes(ctx, boot); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	if err := d.writeTruth(); err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	d.loopWG.Add(1)
	go d.loop(runCtx)
	d.warmup(ctx)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("devnet: start interrupted during the discv5 warm-up (give Start a longer context): %w", err)
	}
	d.loopWG.Add(1)
	go d.heal(runCtx)
	o.Log.Info("devnet started", "name", o.Name, "nodes", o.Nodes, "validators", total, "dir", o.Dir, "seed", o.Seed)
	return d, nil
}

// pick marks round(share*n) of n items, chosen by rng.
func pick(rng *mrand.Rand, n int, share float64) []bool {
	out := make([]bool, n)
	k := int(math.Round(share * float64(n)))
	for _, i := range rng.Perm(n)[:max(0, min(n, k))] {
		out[i] = true
	}
	return out
}

// parallel runs f over nodes with a few workers: starting hundreds of
// hosts one by one is slow, all at once starves the machine.
func (d *Devnet) parallel(nodes []*node, f func(*node) error) error {
	ch := make(chan *node)
	errs := make(chan error, len(nodes))
	var wg sync.WaitGroup
	for w := 0; w < startWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ch {
				if err := f(n); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, n := range nodes {
		ch <- n
	}
	close(ch)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

func (d *Devnet) checkBootnodes(ctx context.Context, boot []*enode.Node) error {
	from := d.nodes[len(d.nodes)-1]
	deadline := time.Now().Add(bootnodeCheckWait)
	for _, b := range boot {
		if b.ID() == from.id {
			continue
		}
		for {
			if _, err := from.disc.Ping(b); err == nil {
				break
			} else if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("bootnode %s does not answer discv5 pings on %s:%d: %w", b.ID().TerminalString(), b.IP(), b.UDP(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func (d *Devnet) epochNow() uint64 { return d.net.EpochAt(time.Now()) }

// loop drives every node's duties from one timer, slot by slot.
func (d *Devnet) loop(ctx context.Context) {
	defer d.loopWG.Done()
	last := d.net.SlotAt(time.Now())
	for {
		next := d.net.SlotStart(last + 1)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		slot := d.net.SlotAt(time.Now())
		if slot <= last {
			slot = last + 1
		}
		last = slot
		if err := d.step(slot); err != nil {
			d.o.Log.Warn("devnet slot update failed; retrying next slot", "slot", slot, "err", err)
		}
	}
}

// advertise recomputes what each node advertises at epoch: long-lived
// subnets and sync-committee subnets. It reports whether anything changed.
func (d *Devnet) advertise(epoch uint64) bool {
	period := epoch / max(1, d.net.Config.EpochsPerSyncCommitteePeriod)
	if d.syncBits == nil || period != d.syncPeriod {
		d.syncBits = d.sched.syncSubnets(period)
		d.syncPeriod = period
	}
	changed := false
	for i, n := range d.nodes {
		var ll []uint64
		var att [8]byte
		syncBits := d.syncBits[i]
		if n.large {
			for s := uint64(0); s < allAttnets; s++ {
				ll = append(ll, s)
			}
			att = setBits(ll)
			syncBits = allSyncnets
		} else {
			ll = subnets.ComputeSubscribedSubnets(n.id, epoch, d.params)
			att = setBits(ll)
		}
		if n.setAdvertised(att, syncBits, ll) {
			changed = true
		}
	}
	return changed
}

func (d *Devnet) dutiesAt(epoch uint64) map[uint64][]Duty {
	if m, ok := d.duties[epoch]; ok {
		return m
	}
	m := map[uint64][]Duty{}
	for _, du := range d.sched.aggregatorDuties(epoch) {
		m[du.Slot] = append(m[du.Slot], du)
	}
	d.duties[epoch] = m
	for e := range d.duties {
		if e+1 < epoch {
			delete(d.duties, e)
		}
	}
	return m
}

// step brings every node to its state at slot: a node is on the subnet of
// each aggregation duty from the slot before the duty until the duty slot
// ends, besides its long-lived subnets.
func (d *Devnet) step(slot uint64) error {
	spe := d.net.Config.SlotsPerEpoch
	epoch := slot / spe
	if d.first || epoch != d.lastEpoch {
		changed := d.advertise(epoch)
		for _, n := range d.nodes {
			n.mu.Lock()
			n.setENRLocked()
			n.mu.Unlock()
		}
		if changed && !d.first {
			if err := d.writeTruth(); err != nil {
				d.o.Log.Warn("devnet could not update truth.json", "err", err)
			}
		}
		d.first, d.lastEpoch = false, epoch
	}
	short := make([]map[uint64]bool, len(d.nodes))
	for _, s := range []uint64{slot, slot + 1} {
		for _, du := range d.dutiesAt(s / spe)[s] {
			if short[du.Node] == nil {
				short[du.Node] = map[uint64]bool{}
			}
			short[du.Node][du.Subnet] = true
		}
	}
	digest := d.net.ForkDigest(epoch)
	var firstErr error
	for i, n := range d.nodes {
		att := map[uint64]bool{}
		sync := map[uint64]bool{}
		n.mu.Lock()
		for _, s := range n.longLived {
			att[s] = true
		}
		for _, s := range bitsOf([]byte{n.meta.Syncnets}, syncnetsBitvectorN) {
			sync[s] = true
		}
		n.mu.Unlock()
		for s := range short[i] {
			att[s] = true
		}
		if err := n.applySubscriptions(digest, att, sync); err != nil {
			firstErr = cmpErr(firstErr, err)
		}
	}
	return firstErr
}

// Nodes returns a snapshot of every node's current state.
func (d *Devnet) Nodes() []NodeInfo {
	out := make([]NodeInfo, len(d.nodes))
	for i, n := range d.nodes {
		out[i] = n.info()
	}
	return out
}

// Network returns the devnet's network description, as network.Load would
// read it from Dir.
func (d *Devnet) Network() *network.Network { return d.net }

// Dir returns the absolute directory the devnet writes its files to.
func (d *Devnet) Dir() string { return d.o.Dir }

// Seed returns the seed in use (picked at random when Options.Seed was 0).
func (d *Devnet) Seed() int64 { return d.o.Seed }

// Bootnodes returns the ENRs written to bootstrap_nodes.txt.
func (d *Devnet) Bootnodes() []string { return append([]string(nil), d.bootnodes...) }

// AggregatorDuties returns the aggregation duties of epoch, by slot.
func (d *Devnet) AggregatorDuties(epoch uint64) []Duty { return d.sched.aggregatorDuties(epoch) }

// Truth returns the current ground truth, as written to truth.json.
func (d *Devnet) Truth() Truth {
	t := Truth{Network: d.o.Name, Seed: d.o.Seed, GenesisTime: d.net.GenesisTime.Unix(), TotalValidators: d.sched.total}
	for i, ni := range d.Nodes() {
		tn := TruthNode{
			PeerID: ni.PeerID, NodeID: ni.NodeID, ENR: ni.ENR, Validators: ni.Validators,
			LongLivedSubnets: ni.LongLivedSubnets, AllSubnets: ni.AllSubnets, Client: ni.Client,
			IP: ni.IP, TCPPort: ni.TCPPort, UDPPort: ni.UDPPort, QUICPort: ni.QUICPort,
		}
		if ni.Validators > 0 {
			tn.ValidatorIndices = []uint64{d.sched.starts[i], d.sched.starts[i+1] - 1}
		}
		if tn.LongLivedSubnets == nil {
			tn.LongLivedSubnets = []uint64{}
		}
		t.Nodes = append(t.Nodes, tn)
	}
	return t
}

func (d *Devnet) writeTruth() error {
	d.truthMu.Lock()
	defer d.truthMu.Unlock()
	return writeJSON(d.o.Dir, TruthFile, d.Truth())
}

// Close stops every node. The files stay in Dir.
func (d *Devnet) Close() error {
	d.closeOnce.Do(func() {
		if d.cancel != nil {
			d.cancel()
		}
		d.loopWG.Wait()
		var errs []error
		for _, n := range d.nodes {
			if err := n.close(); err != nil {
				errs = append(errs, err)
			}
		}
		for _, db := range d.dbs {
			db.Close()
		}
		d.closeErr = errors.Join(errs...)
		if d.release != nil {
			d.release()
		}
	})
	return d.closeErr
}
