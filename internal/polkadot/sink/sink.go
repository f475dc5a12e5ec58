// Package sink is what the Polkadot domain gives the shared consumer: it
// decodes polkadot.<chain>.* events (Decode), applies them to the
// polkadot_* tables through the state Store (Apply) and writes the
// validators, eras, faults and telemetry archive tables (Archive).
//
// Idempotency: every table the sink writes is keyed by what the event
// describes (chain and stash, era, fault id, node name), not by message
// id, and each write is a merge that gives the same result when repeated
// (see state.Tx), so a redelivered batch changes nothing.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/geo"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// Config configures the sink.
type Config struct {
	Store *state.Store
	// Geo fills telemetry locations the feed left empty from the node's IP;
	// nil: locations stay as the feed gave them.
	Geo     *geo.Resolver
	Archive *archive.Writer // nil: no archive
	Log     *slog.Logger
}

// Sink implements consumer.Sink for the Polkadot domain.
type Sink struct {
	st  *state.Store
	geo *geo.Resolver
	log *slog.Logger

	validators *archive.Table[ValidatorRow]
	eras       *archive.Table[EraRow]
	faults     *archive.Table[FaultRow]
	telemetry  *archive.Table[TelemetryRow]
}

var _ consumer.Sink = (*Sink)(nil)

// New checks the configuration and registers the archive tables (when
// there is an archive).
func New(cfg Config) (*Sink, error) {
	if cfg.Store == nil {
		return nil, errors.New("polkadot sink: a state store is required")
	}
	s := &Sink{st: cfg.Store, geo: cfg.Geo, log: cfg.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Archive != nil {
		if err := s.register(cfg.Archive); err != nil {
			return nil, fmt.Errorf("polkadot sink: register archive tables: %w", err)
		}
	}
	return s, nil
}

// Decode parses a Polkadot event (see the package function Decode).
func (s *Sink) Decode(kind string, data []byte) (any, error) { return Decode(kind, data) }

// Apply writes a batch in one transaction, in order (a later record of a
// stash in the batch merges over an earlier one).
func (s *Sink) Apply(ctx context.Context, evs []consumer.Event) error {
	for _, ev := range evs {
		if c := chainOf(ev.Value); c != "" && c != ev.Network {
			return fmt.Errorf("%w: polkadot %s event of chain %q on the subject of chain %q; the sentry must publish a chain's events under its own name",
				consumer.ErrRejected, ev.Kind, c, ev.Network)
		}
		if n, ok := ev.Value.(*events.Telemetry); ok {
			s.locate(n)
		}
	}
	return s.st.InTx(ctx, "apply polkadot batch", func(tx *state.Tx) error {
		for _, ev := range evs {
			var err error
			switch v := ev.Value.(type) {
			case *events.Chain:
				err = tx.PutChain(v)
			case *events.Validator:
				err = tx.PutValidator(v)
			case *events.Era:
				err = tx.PutEra(v)
			case *events.Fault:
				err = tx.AddFault(v)
			case *events.Telemetry:
				err = tx.PutTelemetry(v)
			default:
				err = fmt.Errorf("%w: polkadot event %s of type %T is not one Decode returns", consumer.ErrRejected, ev.MsgID, ev.Value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func chainOf(v any) string {
	switch e := v.(type) {
	case *events.Chain:
		return e.Chain
	case *events.Validator:
		return e.Chain
	case *events.Era:
		return e.Chain
	case *events.Fault:
		return e.Chain
	case *events.Telemetry:
		return e.Chain
	}
	return ""
}

// locate fills what the feed did not say of a node's location from its IP.
// It is idempotent (only empty fields are filled), so a redelivered event
// comes out the same. The IP is not logged.
func (s *Sink) locate(n *events.Telemetry) {
	if s.geo == nil || n.IP == "" {
		return
	}
	info := s.geo.Lookup(n.IP)
	if info.Country == "" && info.City == "" && info.ASN == 0 {
		return // private, loopback or not in the databases: nothing to add
	}
	l := n.Location
	if l == nil {
		l = &events.Location{}
	} else {
		c := *l
		l = &c
	}
	fill := func(dst *string, v string) {
		if strings.TrimSpace(*dst) == "" {
			*dst = v
		}
	}
	fill(&l.Country, info.Country)
	fill(&l.Region, info.Region)
	fill(&l.City, info.City)
	fill(&l.Provider, info.ASOrganization)
	if l.ASN == 0 {
		l.ASN = info.ASN
	}
	if l.Lat == 0 && l.Lon == 0 {
		l.Lat, l.Lon = info.Latitude, info.Longitude
	}
	n.Location = l
}
