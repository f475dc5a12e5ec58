package runner

import (
	"context"
	"fmt"
	"slices"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// freshReads are the chain reads one phase of a pass (settling the due
// announcements, or the round's sends) judges its sends on: the head, the
// records of every target and nominator the phase may send for (one
// Validators call) and the announcements of every delegate (one batched
// AnnouncementsOf). They are read once, when the first send needs them,
// and shared by all the phase's sends — one read per nominator made a
// round of N nominators cost 3N RPC rounds — while every send is still
// re-validated on data read in this pass, after the round was chosen. A
// failed read fails every send of the phase: nothing is sent on it, and
// the next pass reads again. The phases read apart because the
// settlement's own transactions change what the round's sends must see
// (an executed announcement is gone, a nomination changed).
type freshReads struct {
	live Live
	// head is the block the records are read at; set beforehand when the
	// phase needed it to choose what to settle.
	head      *events.Chain
	stashes   []string
	delegates []string

	loaded                  bool
	by                      map[string]*events.Validator
	anns                    map[string][]Announcement
	headErr, valErr, annErr error
}

// want adds the targets and accounts a send of the phase may need; called
// before the first read.
func (f *freshReads) want(targets []string, account, delegate string) {
	for _, s := range append(slices.Clone(targets), account) {
		if s != "" && !slices.Contains(f.stashes, s) {
			f.stashes = append(f.stashes, s)
		}
	}
	if delegate != "" && !slices.Contains(f.delegates, delegate) {
		f.delegates = append(f.delegates, delegate)
	}
}

func (f *freshReads) load(ctx context.Context) {
	if f.loaded {
		return
	}
	f.loaded = true
	if f.head == nil {
		h, err := f.live.Chain(ctx)
		if err != nil {
			f.headErr = fmt.Errorf("read the chain head before sending: %w", err)
			return
		}
		f.head = &h
	}
	vs, err := f.live.Validators(ctx, *f.head, f.stashes)
	if err != nil {
		f.valErr = fmt.Errorf("re-read the targets: %w", err)
	} else {
		f.by = make(map[string]*events.Validator, len(vs))
		for i := range vs {
			f.by[vs[i].Stash] = &vs[i]
		}
	}
	if len(f.delegates) > 0 {
		f.anns, f.annErr = f.live.AnnouncementsOf(ctx, f.delegates...)
	}
}

// records are the fresh records by stash.
func (f *freshReads) records(ctx context.Context) (map[string]*events.Validator, error) {
	f.load(ctx)
	if f.headErr != nil {
		return nil, f.headErr
	}
	return f.by, f.valErr
}

// announcements are delegate's pending announcements; a delegate the
// phase did not ask for is read on its own (it should not happen: want
// lists every one).
func (f *freshReads) announcements(ctx context.Context, delegate string) ([]Announcement, error) {
	f.load(ctx)
	if f.headErr != nil {
		return nil, f.headErr
	}
	if f.annErr == nil && !slices.Contains(f.delegates, delegate) {
		more, err := f.live.AnnouncementsOf(ctx, delegate)
		if err != nil {
			return nil, fmt.Errorf("read the announcements of %s: %w", delegate, err)
		}
		f.delegates = append(f.delegates, delegate)
		if f.anns == nil {
			f.anns = map[string][]Announcement{}
		}
		f.anns[delegate] = more[delegate]
	}
	if f.annErr != nil {
		return nil, fmt.Errorf("read the announcements of %s: %w", delegate, f.annErr)
	}
	return f.anns[delegate], nil
}

// roundReads are the fresh reads of round's sends this pass: the targets
// and accounts of every nominator that may still send, and the delegates
// of the time-delay proxies among them. Nothing is read until a send
// needs it, so a pass with nothing to send reads nothing.
func (r *Runner) roundReads(cfg *program.Config, round *state.Round, done map[string]string) *freshReads {
	f := &freshReads{live: r.cfg.Live}
	if round.DryRun || r.cfg.Live == nil {
		return f
	}
	for _, a := range round.Assignments {
		att := round.Attempts[a.Nominator]
		if done[a.Nominator] != "" || len(a.Targets) == 0 || att.GaveUp || att.Cancelled != "" {
			continue
		}
		n, ok := nominatorConfig(cfg, a.Nominator)
		if !ok {
			continue
		}
		delegate := ""
		if n.Proxy && n.ProxyDelay > 0 {
			// A delegate that cannot be named now fails its own send (announce
			// asks again) and is left out of the batch.
			delegate, _ = r.cfg.Sender.Delegate(n)
		}
		f.want(a.Targets, a.Nominator, delegate)
	}
	return f
}
