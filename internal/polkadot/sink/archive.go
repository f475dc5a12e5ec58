package sink

import (
	"errors"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Archive rows of the Polkadot domain: what each event said, flat, with
// the bus message id. Only plain types, so DuckDB and ClickHouse read the
// files as they are; times are INT64 milliseconds annotated
// TIMESTAMP(MILLIS). Rows are partitioned by seen_at, the observer's clock.
// A fact that could not be read is its column's "unknown" value (-1, "")
// with its error in <column>_error. Telemetry rows carry no IP.

// Table names, also the directories under <root>/parquet/polkadot/<chain>/.
const (
	TableValidators = "validators"
	TableEras       = "eras"
	TableFaults     = "faults"
	TableTelemetry  = "telemetry"
)

// ValidatorRow is one validator record as the sentry read it (not merged).
type ValidatorRow struct {
	Network         string `parquet:"network"`
	Stash           string `parquet:"stash"`
	Block           int64  `parquet:"block"`
	BlockHash       string `parquet:"block_hash"`
	Intention       int8   `parquet:"intention"`  // 1 yes, 0 no, -1 unknown
	Active          int8   `parquet:"active"`     // 1 yes, 0 no, -1 unknown
	Blocked         int8   `parquet:"blocked"`    // 1 yes, 0 no, -1 unknown
	Commission      int64  `parquet:"commission"` // Perbill, -1 unknown
	CommissionError string `parquet:"commission_error"`
	SelfStake       string `parquet:"self_stake"` // planck, "" unknown
	Identity        string `parquet:"identity"`   // display name, "" none or unknown
	Verified        bool   `parquet:"verified"`
	IdentityError   string `parquet:"identity_error"`
	ActiveBackers   int32  `parquet:"active_backers"` // -1 unknown
	Endpoint        string `parquet:"endpoint"`
	SeenAt          int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID           string `parquet:"msg_id"`
}

// EraRow is one era record.
type EraRow struct {
	Network    string `parquet:"network"`
	Era        int64  `parquet:"era"`
	Validators int32  `parquet:"validators"`
	Total      int64  `parquet:"total"`
	Complete   bool   `parquet:"complete"`
	Block      int64  `parquet:"block"`
	Endpoint   string `parquet:"endpoint"`
	SeenAt     int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID      string `parquet:"msg_id"`
}

// FaultRow is one fault.
type FaultRow struct {
	Network string `parquet:"network"`
	ID      string `parquet:"id"`
	Stash   string `parquet:"stash"`
	Kind    string `parquet:"kind"`
	Reason  string `parquet:"reason"`
	Era     int64  `parquet:"era"`
	Session int64  `parquet:"session"`
	Block   int64  `parquet:"block"`
	At      int64  `parquet:"at,timestamp(millisecond)"`
	SeenAt  int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID   string `parquet:"msg_id"`
}

// TelemetryRow is one telemetry node's state.
type TelemetryRow struct {
	Network        string `parquet:"network"`
	Name           string `parquet:"name"`
	Implementation string `parquet:"implementation"`
	Version        string `parquet:"version"`
	Online         bool   `parquet:"online"`
	OfflineWeekMs  int64  `parquet:"offline_week_ms"`
	Country        string `parquet:"country"`
	City           string `parquet:"city"`
	Provider       string `parquet:"provider"`
	ASN            int64  `parquet:"asn"`
	Feed           string `parquet:"feed"`
	At             int64  `parquet:"at,timestamp(millisecond)"`
	SeenAt         int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID          string `parquet:"msg_id"`
}

func (s *Sink) register(w *archive.Writer) error {
	var err error
	info := func(net string, seen, at int64, size int, id string) archive.RowInfo {
		if seen == 0 {
			seen = at
		}
		return archive.RowInfo{Network: net, Time: seen, Size: int64(size), MsgID: id}
	}
	if s.validators, err = archive.Register(w, events.Domain, TableValidators, archive.TableOptions{}, func(r *ValidatorRow) archive.RowInfo {
		return info(r.Network, r.SeenAt, 0, 160+len(r.Stash)+len(r.Identity)+len(r.CommissionError)+len(r.IdentityError), r.MsgID)
	}); err != nil {
		return err
	}
	if s.eras, err = archive.Register(w, events.Domain, TableEras, archive.TableOptions{}, func(r *EraRow) archive.RowInfo {
		return info(r.Network, r.SeenAt, 0, 120, r.MsgID)
	}); err != nil {
		return err
	}
	if s.faults, err = archive.Register(w, events.Domain, TableFaults, archive.TableOptions{}, func(r *FaultRow) archive.RowInfo {
		return info(r.Network, r.SeenAt, r.At, 140+len(r.ID)+len(r.Reason), r.MsgID)
	}); err != nil {
		return err
	}
	s.telemetry, err = archive.Register(w, events.Domain, TableTelemetry, archive.TableOptions{}, func(r *TelemetryRow) archive.RowInfo {
		return info(r.Network, r.SeenAt, r.At, 160+len(r.Name)+len(r.Provider), r.MsgID)
	})
	return err
}

func tri(f events.Fact[bool]) int8 {
	switch {
	case !f.Known:
		return -1
	case f.Value:
		return 1
	}
	return 0
}

// Archive appends the archive rows of the batch's events; chain records
// live in the state tables only.
func (s *Sink) Archive(evs []consumer.Event) error {
	if s.validators == nil {
		return nil
	}
	var (
		vs []ValidatorRow
		es []EraRow
		fs []FaultRow
		ts []TelemetryRow
	)
	for _, ev := range evs {
		switch e := ev.Value.(type) {
		case *events.Validator:
			r := ValidatorRow{Network: e.Chain, Stash: e.Stash, Block: int64(e.Block), BlockHash: e.BlockHash,
				Intention: tri(e.Intention), Active: tri(e.Active), Blocked: tri(e.Blocked), Commission: -1,
				CommissionError: e.Commission.Err, IdentityError: e.Identity.Err, ActiveBackers: -1,
				Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID}
			if e.Commission.Known {
				r.Commission = int64(e.Commission.Value)
			}
			if e.SelfStake.Known {
				r.SelfStake = string(e.SelfStake.Value)
			}
			if e.Identity.Known {
				r.Identity, r.Verified = e.Identity.Value.Name(), e.Identity.Value.Verified()
			}
			if e.ActiveNominators.Known {
				r.ActiveBackers = int32(len(e.ActiveNominators.Value))
			}
			vs = append(vs, r)
		case *events.Era:
			es = append(es, EraRow{Network: e.Chain, Era: int64(e.Era), Validators: int32(len(e.Validators)), Total: int64(e.Total),
				Complete: e.Complete, Block: int64(e.Block), Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.Fault:
			fs = append(fs, FaultRow{Network: e.Chain, ID: e.ID, Stash: e.Stash, Kind: e.Kind, Reason: e.Reason, Era: int64(e.Era),
				Session: int64(e.Session), Block: int64(e.Block), At: e.At, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.Telemetry:
			r := TelemetryRow{Network: e.Chain, Name: e.Name, Implementation: e.Implementation, Version: e.Version, Online: e.Online,
				OfflineWeekMs: e.OfflineWeek, Feed: e.Feed, At: e.At, SeenAt: e.SeenAt, MsgID: ev.MsgID}
			if l := e.Location; l != nil {
				r.Country, r.City, r.Provider, r.ASN = l.Country, l.City, l.Provider, int64(l.ASN)
			}
			ts = append(ts, r)
		}
	}
	return errors.Join(write(s.validators, vs), write(s.eras, es), write(s.faults, fs), write(s.telemetry, ts))
}

func write[T any](t *archive.Table[T], rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return t.Write(rows)
}
