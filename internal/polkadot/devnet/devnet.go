package devnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"
	"golang.org/x/crypto/blake2b"

	"github.com/valtrack/valtrack/internal/devnetlock"
	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/telemetry/feedtest"
	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// Pinned time of the first block: chopsticks' genesis mode has no
// Timestamp.Now, and reading the clock twice while building block #1 can
// straddle a slot boundary (Babe panics); pinning makes it deterministic.
const (
	pinnedNow  = 1700000000000
	pinnedSlot = 283333333 // pinnedNow / 6000 ms
	// epochLength is westend-dev's Babe epoch in slots.
	epochLength = 600
	// warmEra is the active era Start advances to before returning, so
	// every truth holds (an unpaid validator is invalid from era 3 on).
	warmEra = 3
	// maxEraBlocks bounds one era change: six session rotations, the
	// fallback election's block and some slack.
	maxEraBlocks = 24
	// validatorCount is set above the candidates' number so the election
	// elects every validate intention.
	validatorCount = MaxCandidates + 8
	// fundWND is each shaped account's free balance.
	fundWND = 1_000_000
	// nominatorBondWND is the programme nominator's bond.
	nominatorBondWND = 20_000
)

// Devnet is a running Polkadot devnet.
type Devnet struct {
	o     Options
	proc  *chopsticks.Process
	c     *tx.Client
	alice *tx.Signer
	cands []candidate
	keys  map[string]*tx.Signer // by name: candidates, parents, nominator, proxy
	info  Info
	log   *slog.Logger

	mu       sync.Mutex // one block builder at a time
	elected  map[uint32][]tx.AccountID
	eraTimes []time.Duration

	// feed is the devnet's telemetry feed (the candidates' nodes), nil
	// with Options.NoTelemetry.
	feed  *feedtest.Server
	nodes map[string]uint64 // candidate name → feed node id

	cancel  context.CancelFunc
	done    chan struct{}
	errMu   sync.Mutex
	err     error
	once    sync.Once
	release func() // the directory's lock (devnetlock)
}

// Start installs chopsticks on first use, starts westend-dev on
// 127.0.0.1, shapes the candidates and the nominator, advances to era
// warmEra, writes the files and then advances an era every EraEvery in
// the background until Close.
func Start(ctx context.Context, o Options) (_ *Devnet, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("polkadot devnet: directory %s: %w", o.Dir, err)
	}
	o.Dir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("polkadot devnet: create %s: %w", dir, err)
	}
	// A devnet that still runs keeps its directory: its polkadot.json,
	// candidates.yaml and truth.json are what `valtrack run
	// --polkadot-dir` reads, and a second chopsticks would replace them.
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	if o.Prefix == "" {
		o.Prefix = chopsticks.DefaultPrefix()
	}
	if err := chopsticks.Install(ctx, o.Prefix, o.Out); err != nil {
		return nil, fmt.Errorf("polkadot devnet: %w", err)
	}
	spec, err := specFile(dir)
	if err != nil {
		return nil, fmt.Errorf("polkadot devnet: %w", err)
	}
	t0 := time.Now()
	proc, err := chopsticks.Start(ctx, chopsticks.Options{
		Prefix: o.Prefix, Genesis: spec, Port: o.Port, Dir: dir, Log: o.Log,
		ImportStorage: map[string]any{
			"Timestamp": map[string]any{"Now": pinnedNow},
			"Babe":      map[string]any{"CurrentSlot": pinnedSlot},
			// Elect every validate intention (genesis elects few).
			"Staking": map[string]any{"ValidatorCount": validatorCount, "MinimumValidatorCount": 1},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("polkadot devnet: %w", err)
	}
	d := &Devnet{o: o, proc: proc, log: o.Log, elected: map[uint32][]tx.AccountID{}, keys: map[string]*tx.Signer{}, done: make(chan struct{}), release: release}
	defer func() {
		if err != nil {
			d.shutdown()
		}
	}()
	d.log.Info("chopsticks up", "rpc", proc.URL(), "took", time.Since(t0).Round(time.Millisecond))
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	d.c, err = tx.Dial(dctx, proc.URL())
	cancel()
	if err != nil {
		return nil, fmt.Errorf("polkadot devnet: %w", err)
	}
	if d.alice, err = tx.FromURI("//Alice"); err != nil {
		return nil, err
	}
	d.cands = candidates(o.Candidates)
	t1 := time.Now()
	if err := d.shape(ctx); err != nil {
		return nil, fmt.Errorf("polkadot devnet: shape the chain: %w", err)
	}
	d.log.Info("chain shaped", "candidates", len(d.cands), "took", time.Since(t1).Round(time.Millisecond))
	for {
		era, err := activeEra(ctx, proc)
		if err != nil {
			return nil, fmt.Errorf("polkadot devnet: %w", err)
		}
		if era >= warmEra {
			break
		}
		if err := d.AdvanceEra(ctx); err != nil {
			return nil, fmt.Errorf("polkadot devnet: advance to era %d: %w", warmEra, err)
		}
	}
	d.startFeed()
	if err := d.writeFiles(); err != nil {
		return nil, fmt.Errorf("polkadot devnet: %w", err)
	}
	d.log.Info("devnet ready", "dir", dir, "rpc", d.info.RPC, "took", time.Since(t0).Round(time.Millisecond))
	lctx, lcancel := context.WithCancel(context.Background())
	d.cancel = lcancel
	go d.loop(lctx)
	return d, nil
}

func (d *Devnet) signer(name string) (*tx.Signer, error) {
	if s, ok := d.keys[name]; ok {
		return s, nil
	}
	s, err := tx.FromURI("//" + name)
	if err != nil {
		return nil, fmt.Errorf("dev key //%s: %w", name, err)
	}
	d.keys[name] = s
	return s, nil
}

// sessionKeys derives a validator's session keys from its name: distinct
// per validator (the runtime refuses a key another stash holds) and the
// same on every run.
func sessionKeys(b *tx.Builder, name string) (tx.SessionKeys, error) {
	fields, lens, err := b.SessionKeyFields()
	if err != nil {
		return nil, err
	}
	keys := tx.SessionKeys{}
	for _, f := range fields {
		h := blake2b.Sum512([]byte("valtrack-devnet/" + name + "/" + f))
		n := lens[f]
		if n > len(h) {
			return nil, fmt.Errorf("session key %s has %d bytes", f, n)
		}
		k := append([]byte(nil), h[:n]...)
		if n == 33 {
			// A compressed ECDSA key (beefy) starts with 02 or 03.
			k[0] = 2
		}
		keys[f] = k
	}
	return keys, nil
}

// shape funds the accounts, bonds and registers every candidate and the
// nominator in one block of real extrinsics, then writes identities with
// dev_setStorage (the registrar flow would need a registrar and a block
// per judgement; the stored Registration is what the rule reads).
func (d *Devnet) shape(ctx context.Context) error {
	b := d.c.Calls()
	var fund []any
	add := func(s *tx.Signer) {
		fund = append(fund, []any{[]any{s.Account().SS58(42)}, map[string]any{"providers": 1, "data": map[string]any{"free": wnd(fundWND).String()}}})
	}
	for _, c := range d.cands {
		s, err := d.signer(c.Name)
		if err != nil {
			return err
		}
		add(s)
		if c.Parent != "" {
			p, err := d.signer(c.Parent)
			if err != nil {
				return err
			}
			add(p)
		}
	}
	nom, err := d.signer("Nominator")
	if err != nil {
		return err
	}
	proxy, err := d.signer("NominatorProxy")
	if err != nil {
		return err
	}
	add(nom)
	add(proxy)
	for _, bk := range backers {
		s, err := d.signer(bk.Name)
		if err != nil {
			return err
		}
		add(s)
	}
	if err := d.proc.SetStorage(ctx, map[string]any{"System": map[string]any{"Account": fund}}); err != nil {
		return fmt.Errorf("fund accounts: %w", err)
	}

	var txs []signedCall
	for _, c := range d.cands {
		s := d.keys[c.Name]
		bond, err := b.Bond(s.Account(), wnd(c.BondWND))
		if err != nil {
			return err
		}
		keys, err := sessionKeys(b, c.Name)
		if err != nil {
			return err
		}
		setKeys, err := b.SetKeys(keys)
		if err != nil {
			return err
		}
		calls := []tx.Call{bond, setKeys}
		if !c.NoValidate {
			v, err := b.Validate(c.Commission, c.Blocked)
			if err != nil {
				return err
			}
			calls = append(calls, v)
		}
		batch, err := b.BatchAll(calls)
		if err != nil {
			return err
		}
		txs = append(txs, signedCall{c.Name, s, batch})
	}
	nbond, err := b.Bond(nom.Account(), wnd(nominatorBondWND))
	if err != nil {
		return err
	}
	addProxy, err := b.AddProxy(proxy.Account(), d.o.ProxyDelay)
	if err != nil {
		return err
	}
	nbatch, err := b.BatchAll([]tx.Call{nbond, addProxy})
	if err != nil {
		return err
	}
	txs = append(txs, signedCall{"Nominator", nom, nbatch})
	for _, bk := range backers {
		var targets []tx.AccountID
		for _, t := range bk.Targets {
			if d.isCandidate(t) {
				targets = append(targets, d.keys[t].Account())
			}
		}
		if len(targets) == 0 {
			continue
		}
		s := d.keys[bk.Name]
		bond, err := b.Bond(s.Account(), wnd(bk.BondWND))
		if err != nil {
			return err
		}
		nominate, err := b.Nominate(targets)
		if err != nil {
			return err
		}
		batch, err := b.BatchAll([]tx.Call{bond, nominate})
		if err != nil {
			return err
		}
		txs = append(txs, signedCall{bk.Name, s, batch})
	}
	d.mu.Lock()
	err = d.sendBlock(ctx, nil, txs...)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.setIdentities(ctx)
}

type signedCall struct {
	who string
	s   *tx.Signer
	c   tx.Call
}

// sendBlock submits the calls, builds one block and requires each to
// have succeeded in it. d.mu must be held.
func (d *Devnet) sendBlock(ctx context.Context, opts map[string]any, txs ...signedCall) error {
	hashes := make([][32]byte, len(txs))
	for i, t := range txs {
		h, err := tx.Submit(ctx, d.c, t.s, t.c)
		if err != nil {
			return fmt.Errorf("%s: %w", t.who, err)
		}
		hashes[i] = h
	}
	bh, err := d.newBlock(ctx, opts)
	if err != nil {
		return err
	}
	var errs []error
	for i, h := range hashes {
		ok, err := d.c.Included(ctx, bh, h)
		if !ok && err == nil {
			err = errors.New("not in the block the devnet built")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", txs[i].who, txs[i].c, err))
		}
	}
	return errors.Join(errs...)
}

func (d *Devnet) newBlock(ctx context.Context, opts map[string]any) ([32]byte, error) {
	var h [32]byte
	s, err := d.proc.NewBlock(ctx, opts)
	if err != nil {
		return h, fmt.Errorf("build a block: %w", err)
	}
	b, err := decodeHex32(s)
	if err != nil {
		return h, fmt.Errorf("dev_newBlock answered %q: %w", s, err)
	}
	return b, nil
}

func decodeHex32(s string) ([32]byte, error) {
	var h [32]byte
	a, err := tx.ParseAddress(s) // a 0x hex of 32 bytes parses as an account
	if err != nil {
		return h, errors.New("not a 0x 32-byte hash")
	}
	return [32]byte(a), nil
}

// identity JSON for dev_setStorage (chopsticks encodes it with the
// runtime's metadata).
func registration(display string, judgements [][2]any) map[string]any {
	none := map[string]any{"None": nil}
	return map[string]any{
		"judgements": judgements,
		"deposit":    0,
		"info": map[string]any{
			"additional": []any{}, "display": map[string]any{"Raw": display},
			"legal": none, "web": none, "riot": none, "email": none,
			"pgpFingerprint": nil, "image": none, "twitter": none,
		},
	}
}

func (d *Devnet) setIdentities(ctx context.Context) error {
	var identityOf, superOf []any
	subs := map[string][]string{}
	var parents []string
	for _, c := range d.cands {
		addr := d.keys[c.Name].Account().SS58(42)
		switch c.Identity {
		case idVerified:
			identityOf = append(identityOf, []any{[]any{addr}, registration(c.Name, [][2]any{{0, c.Judgement}})})
		case idUnverified:
			// Judged by nobody: a registrar was asked (FeePaid) but gave no
			// verdict yet.
			identityOf = append(identityOf, []any{[]any{addr}, registration(c.Name, [][2]any{{0, map[string]any{"FeePaid": 0}}})})
		case idSub:
			paddr := d.keys[c.Parent].Account().SS58(42)
			superOf = append(superOf, []any{[]any{addr}, []any{paddr, map[string]any{"Raw": c.Name}}})
			if _, ok := subs[c.Parent]; !ok {
				parents = append(parents, c.Parent)
			}
			subs[c.Parent] = append(subs[c.Parent], addr)
		}
	}
	var subsOf []any
	for _, p := range parents {
		paddr := d.keys[p].Account().SS58(42)
		if !d.isCandidate(p) {
			// A parent that is no candidate (DuneOps) holds the verified
			// identity its subs inherit.
			identityOf = append(identityOf, []any{[]any{paddr}, registration(p, [][2]any{{0, "Reasonable"}})})
		}
		subsOf = append(subsOf, []any{[]any{paddr}, []any{0, subs[p]}})
	}
	st := map[string]any{"IdentityOf": identityOf}
	if len(superOf) > 0 {
		st["SuperOf"], st["SubsOf"] = superOf, subsOf
	}
	if err := d.proc.SetStorage(ctx, map[string]any{"Identity": st}); err != nil {
		return fmt.Errorf("set identities: %w", err)
	}
	return nil
}

func (d *Devnet) isCandidate(name string) bool {
	for _, c := range d.cands {
		if c.Name == name {
			return true
		}
	}
	return false
}

// rotate builds one block that starts a new session: Babe rotates an epoch
// (and so a session) when the slot is an epoch past GenesisSlot +
// EpochIndex·epochLength, so GenesisSlot is moved back first.
func (d *Devnet) rotate(ctx context.Context) ([32]byte, error) {
	if err := d.markOnline(ctx); err != nil {
		return [32]byte{}, err
	}
	slot, err := getU64(ctx, d.proc, "Babe", "CurrentSlot")
	if err != nil {
		return [32]byte{}, err
	}
	epoch, err := getU64(ctx, d.proc, "Babe", "EpochIndex")
	if err != nil {
		epoch = 0 // absent before the first epoch change
	}
	back := epochLength * (epoch + 1)
	if back > slot {
		return [32]byte{}, fmt.Errorf("slot %d is below %d epochs: cannot rotate", slot, epoch+1)
	}
	gs := binary.LittleEndian.AppendUint64(nil, slot-back)
	if err := d.proc.SetStorage(ctx, [][2]string{{hex0x(plainKey("Babe", "GenesisSlot")), hex0x(gs)}}); err != nil {
		return [32]byte{}, fmt.Errorf("set Babe.GenesisSlot: %w", err)
	}
	return d.newBlock(ctx, nil)
}

// markOnline records a block authored by every session validator in the
// current session (ImOnline.AuthoredBlocks). Nobody sends heartbeats here,
// so at the session's end imOnline would report them all offline, and
// staking (9320) chills an offender even when its slash is zero: the
// shaped validate intentions would vanish within an era.
func (d *Devnet) markOnline(ctx context.Context) error {
	b, err := getStorage(ctx, d.proc, plainKey("Session", "CurrentIndex"))
	if err != nil {
		return fmt.Errorf("read Session.CurrentIndex: %w", err)
	}
	var idx uint32
	if len(b) >= 4 {
		idx = binary.LittleEndian.Uint32(b)
	}
	vs, err := sessionValidators(ctx, d.proc)
	if err != nil {
		return err
	}
	one := hex0x(binary.LittleEndian.AppendUint32(nil, 1))
	sess := binary.LittleEndian.AppendUint32(nil, idx)
	pairs := make([][2]string, 0, len(vs))
	for _, v := range vs {
		k := append(plainKey("ImOnline", "AuthoredBlocks"), xxhash.New64(sess).Sum(nil)...)
		k = append(k, sess...)
		k = append(k, xxhash.New64(v[:]).Sum(nil)...)
		k = append(k, v[:]...)
		pairs = append(pairs, [2]string{hex0x(k), one})
	}
	if len(pairs) == 0 {
		return nil
	}
	if err := d.proc.SetStorage(ctx, pairs); err != nil {
		return fmt.Errorf("set ImOnline.AuthoredBlocks: %w", err)
	}
	return nil
}

// AdvanceEra moves Staking.ActiveEra on by one with a real election:
// Staking.ForceEra = ForceNew, session rotations (one per block), a sudo governance_fallback when the multi-phase
// election fails (its signed and unsigned phases never open on this
// chain), then era reward points for the new era and payouts of the era
// that ended (all but the candidates shaped never to be paid).
func (d *Devnet) AdvanceEra(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t0 := time.Now()
	start, err := activeEra(ctx, d.proc)
	if err != nil {
		return err
	}
	if _, ok := d.elected[start]; !ok {
		if vs, err := sessionValidators(ctx, d.proc); err == nil {
			d.elected[start] = vs
		}
	}
	// Plan the next era at the next session instead of waiting out the
	// era's six sessions (the flag resets itself once the era is planned).
	if err := d.proc.SetStorage(ctx, map[string]any{"Staking": map[string]any{"ForceEra": "ForceNew"}}); err != nil {
		return fmt.Errorf("set Staking.ForceEra: %w", err)
	}
	era := start
	for n := 0; era == start; n++ {
		if n >= maxEraBlocks {
			return fmt.Errorf("active era still %d after %d blocks: see %s", start, n, d.proc.LogPath())
		}
		bh, err := d.rotate(ctx)
		if err != nil {
			return err
		}
		evs, err := d.c.Events(ctx, bh)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Name == "ElectionProviderMultiPhase.ElectionFailed" || e.Name == "Staking.StakingElectionFailed" {
				if err := d.fallbackElection(ctx); err != nil {
					return err
				}
				break
			}
		}
		if era, err = activeEra(ctx, d.proc); err != nil {
			return err
		}
	}
	vs, err := sessionValidators(ctx, d.proc)
	if err != nil {
		return err
	}
	d.elected[era] = vs
	if err := d.setEraPoints(ctx, era, vs); err != nil {
		return err
	}
	if err := d.payout(ctx, start); err != nil {
		return err
	}
	took := time.Since(t0)
	d.eraTimes = append(d.eraTimes, took)
	d.log.Info("era advanced", "era", era, "validators", len(vs), "took", took.Round(time.Millisecond))
	return nil
}

// fallbackElection elects on chain: sudo(governance_fallback(None, None))
// signed by //Alice, westend-dev's sudo key.
func (d *Devnet) fallbackElection(ctx context.Context) error {
	b := d.c.Calls()
	gf, err := b.GovernanceFallback()
	if err != nil {
		return err
	}
	su, err := b.Sudo(gf)
	if err != nil {
		return err
	}
	if err := d.sendBlock(ctx, nil, signedCall{"sudo", d.alice, su}); err != nil {
		return fmt.Errorf("fallback election: %w", err)
	}
	return nil
}

// setEraPoints writes Staking.ErasRewardPoints for era: blocks here are
// not authored by the validators, so the runtime would award none. Points
// vary by validator and era, the same on every run.
func (d *Devnet) setEraPoints(ctx context.Context, era uint32, vs []tx.AccountID) error {
	sorted := append([]tx.AccountID(nil), vs...)
	// A BTreeMap encodes in key order.
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i][:], sorted[j][:]) < 0 })
	var total uint32
	var body []byte
	for _, v := range sorted {
		p := 20 * (1 + (uint32(v[0])+era)%7)
		total += p
		body = append(body, v[:]...)
		body = binary.LittleEndian.AppendUint32(body, p)
	}
	val := binary.LittleEndian.AppendUint32(nil, total)
	val = append(val, encCompact(uint64(len(sorted)))...)
	val = append(val, body...)
	key := twox64ConcatKey("Staking", "ErasRewardPoints", binary.LittleEndian.AppendUint32(nil, era))
	if err := d.proc.SetStorage(ctx, [][2]string{{hex0x(key), hex0x(val)}}); err != nil {
		return fmt.Errorf("set Staking.ErasRewardPoints(%d): %w", era, err)
	}
	return nil
}

// payout claims era's rewards for its validators, except the candidates
// shaped to leave theirs unclaimed, in one batch from //Alice (anyone may
// call payout_stakers).
func (d *Devnet) payout(ctx context.Context, era uint32) error {
	unpaid := map[tx.AccountID]bool{}
	for _, c := range d.cands {
		if c.Unpaid {
			unpaid[d.keys[c.Name].Account()] = true
		}
	}
	b := d.c.Calls()
	var calls []tx.Call
	for _, v := range d.elected[era] {
		if unpaid[v] {
			continue
		}
		c, err := b.PayoutStakers(v, era)
		if err != nil {
			return err
		}
		calls = append(calls, c)
	}
	if len(calls) == 0 {
		return nil
	}
	batch, err := b.BatchAll(calls)
	if err != nil {
		return err
	}
	if err := d.sendBlock(ctx, nil, signedCall{"payouts", d.alice, batch}); err != nil {
		return fmt.Errorf("pay out era %d: %w", era, err)
	}
	return nil
}

func (d *Devnet) loop(ctx context.Context) {
	defer close(d.done)
	if d.o.EraEvery < 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(d.o.EraEvery)
	defer t.Stop()
	// Plain blocks between the era changes, as a chain makes them: the
	// transactions of valtrack (and anyone) are included there — the
	// runtime refuses them in the blocks that rotate a session by the
	// GenesisSlot shortcut — and a proxy's delay, counted in blocks,
	// passes.
	b := time.NewTicker(d.o.BlockEvery)
	defer b.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.proc.Done():
			d.setErr(fmt.Errorf("chopsticks exited: see %s", d.proc.LogPath()))
			return
		case <-b.C:
			bctx, cancel := context.WithTimeout(ctx, time.Minute)
			if _, err := d.NewBlock(bctx, nil); err != nil && ctx.Err() == nil {
				d.log.Warn("block not built; trying at the next tick", "err", err)
			}
			cancel()
			continue
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := d.AdvanceEra(actx)
		cancel()
		if err != nil && ctx.Err() == nil {
			d.setErr(err)
			d.log.Warn("era change failed; retrying at the next tick", "err", err)
		}
	}
}

func (d *Devnet) setErr(err error) {
	d.errMu.Lock()
	d.err = err
	d.errMu.Unlock()
}

// Err is the last background failure, nil when none.
func (d *Devnet) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

// Info is what polkadot.json holds.
func (d *Devnet) Info() Info { return d.info }

// Dir is the devnet's directory.
func (d *Devnet) Dir() string { return d.o.Dir }

// Chopsticks is the chain's process, for raw RPC calls in tests.
func (d *Devnet) Chopsticks() *chopsticks.Process { return d.proc }

// Client is the devnet's extrinsic client.
func (d *Devnet) Client() *tx.Client { return d.c }

// EraTimes are how long each era change took.
func (d *Devnet) EraTimes() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Duration(nil), d.eraTimes...)
}

// Close stops the background and chopsticks, then frees the directory
// for another devnet.
func (d *Devnet) Close() error {
	d.shutdown()
	return nil
}

func (d *Devnet) shutdown() {
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
		}
		if d.feed != nil {
			d.feed.Close()
		}
		if d.c != nil {
			d.c.Close()
		}
		if d.proc != nil {
			_ = d.proc.Close()
		}
		// Last: the directory is free once chopsticks no longer serves it.
		if d.release != nil {
			d.release()
		}
	})
}

// truth maps candidate names to their expected verdicts.
func (d *Devnet) truth() Truth {
	t := Truth{}
	for _, c := range d.cands {
		t[c.Name] = c.Expect
	}
	return t
}

func (d *Devnet) writeFiles() error {
	dir := d.o.Dir
	nomKey, proxyKey := filepath.Join(dir, NominatorKeyFile), filepath.Join(dir, ProxyKeyFile)
	// Dev URIs, but written 0600 as a real secret must be, so the
	// programme's key check is exercised the way production uses it.
	if err := writeFileAtomic(nomKey, []byte("//Nominator\n"), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(proxyKey, []byte("//NominatorProxy\n"), 0o600); err != nil {
		return err
	}
	nom, proxy := d.keys["Nominator"], d.keys["NominatorProxy"]
	stash := func(c candidate) string { return d.keys[c.Name].Account().SS58(d.c.SS58Prefix()) }
	nc := program.NominatorConfig{Account: nom.Account().SS58(d.c.SS58Prefix()), Key: proxyKey, Proxy: true, ProxyDelay: d.o.ProxyDelay}
	candPath := filepath.Join(dir, CandidatesFile)
	if err := writeFileAtomic(candPath, candidatesYAML(d.cands, stash, nc, d.feed != nil), 0o644); err != nil {
		return err
	}
	truthPath := filepath.Join(dir, TruthFile)
	if err := writeJSON(truthPath, d.truth()); err != nil {
		return err
	}
	g := d.c.Genesis()
	d.info = Info{
		Chain: Chain, RPC: d.proc.URL(), RPCHTTP: d.proc.HTTPURL(),
		Candidates: candPath, Truth: truthPath,
		Genesis: hex0x(g[:]), SS58: d.c.SS58Prefix(), EraEvery: d.o.EraEvery.String(),
		Sudo: "//Alice", Telemetry: d.feedURL(),
		Nominator: Nominator{
			Account: nc.Account, AccountKey: nomKey,
			Proxy: proxy.Account().SS58(d.c.SS58Prefix()), ProxyKey: proxyKey,
			ProxyDelay: d.o.ProxyDelay, Bonded: wnd(nominatorBondWND).String(),
		},
	}
	if d.o.EraEvery < 0 {
		d.info.EraEvery = "off"
	}
	return writeJSON(filepath.Join(dir, InfoFile), d.info)
}
