package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/safe"
)

// Bounds on what one event may hold. Polkadot runs ~600 active validators
// and a few thousand intentions, Kusama ~1000; a validator's backers are
// bounded by the chain's nominator count. The limits leave room for far
// more while keeping one hostile event from exhausting memory or a row.
const (
	MaxValidators = 100_000 // validators of an era or session, stakes, backers
	MaxShort      = 256     // names, addresses, hashes, versions, kinds
	MaxText       = 2048    // reasons, errors, identity fields
	MaxKeys       = 64      // session key types
	MaxList       = 10_000  // unclaimed eras, targets, judgements, subs
	maxTime       = 253402300799999
)

// amountRE is a planck amount: decimal digits, at most 40 (u128 has 39).
var amountRE = regexp.MustCompile(`^[0-9]{0,40}$`)

// Decode parses one event of kind: strict JSON (unknown fields and trailing
// data refused) into its payload type, the schema version checked, values
// range-checked, strings made safe and slices bounded. An error says what
// is wrong; the event is then refused, never retried.
func Decode(kind string, data []byte) (any, error) {
	var (
		v     any
		check func() error
	)
	switch kind {
	case events.KindChain:
		c := new(events.Chain)
		v, check = c, func() error { return checkChain(c) }
	case events.KindValidator:
		x := new(events.Validator)
		v, check = x, func() error { return checkValidator(x) }
	case events.KindEra:
		e := new(events.Era)
		v, check = e, func() error { return checkEra(e) }
	case events.KindFault:
		f := new(events.Fault)
		v, check = f, func() error { return checkFault(f) }
	case events.KindTelemetry:
		n := new(events.Telemetry)
		v, check = n, func() error { return checkTelemetry(n) }
	default:
		return nil, fmt.Errorf("decode polkadot event: unknown kind %q (this build reads chain, validator, era, fault, telemetry)", safe.String(kind, 64))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("decode polkadot %s: %w", kind, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode polkadot %s: data after the JSON object", kind)
	}
	if err := check(); err != nil {
		return nil, fmt.Errorf("decode polkadot %s: %w", kind, err)
	}
	return v, nil
}

func checkVersion(v int) error {
	if v != events.SchemaVersion {
		return fmt.Errorf("schema version %d not supported (this build reads %d); upgrade valtrack", v, events.SchemaVersion)
	}
	return nil
}

// head checks what every payload starts with.
func head(v int, chain *string) error {
	if err := checkVersion(v); err != nil {
		return err
	}
	return events.CheckChain(*chain)
}

func str(s *string, n int) { *s = safe.String(*s, n) }

// key is a string that identifies a row: it must be non-empty once safe.
func key(what string, s *string) error {
	str(s, MaxShort)
	if *s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	return nil
}

func amount(what string, a *events.Amount) error {
	if !amountRE.MatchString(string(*a)) {
		return fmt.Errorf("%s %q is not a decimal planck amount", what, safe.String(string(*a), 64))
	}
	return nil
}

func bound[T any](what string, s []T, n int) error {
	if len(s) > n {
		return fmt.Errorf("%s has %d entries, at most %d", what, len(s), n)
	}
	return nil
}

func strs(what string, s []string, n, each int) error {
	if err := bound(what, s, n); err != nil {
		return err
	}
	for i := range s {
		str(&s[i], each)
	}
	return nil
}

func times(what string, ms ...int64) error {
	for _, t := range ms {
		if t < 0 || t > maxTime {
			return fmt.Errorf("%s %d is not a unix millisecond time", what, t)
		}
	}
	return nil
}

func observer(o *events.Observer) error {
	str(&o.Endpoint, MaxShort)
	str(&o.SentryID, MaxShort)
	return times("seen_at", o.SeenAt)
}

// fact makes a fact's error safe and checks its time.
func fact[T any](what string, f *events.Fact[T]) error {
	str(&f.Err, MaxText)
	return times(what+" time", f.At)
}

func checkChain(c *events.Chain) error {
	if err := head(c.V, &c.Chain); err != nil {
		return err
	}
	for _, s := range []*string{&c.Genesis, &c.SpecName, &c.Token, &c.BlockHash} {
		str(s, MaxShort)
	}
	if c.Decimals < 0 || c.Decimals > 30 {
		return fmt.Errorf("decimals %d out of 0..30", c.Decimals)
	}
	if err := times("block_time", c.BlockTime, c.ActiveEraStart); err != nil {
		return err
	}
	if err := strs("session_validators", c.SessionValidators, MaxValidators, MaxShort); err != nil {
		return err
	}
	if err := bound("elected_stakes", c.ElectedStakes, MaxValidators); err != nil {
		return err
	}
	for i := range c.ElectedStakes {
		if err := amount("elected stake", &c.ElectedStakes[i]); err != nil {
			return err
		}
	}
	if err := amount("min_nominator_bond", &c.MinNominatorBond); err != nil {
		return err
	}
	return observer(&c.Observer)
}

func checkValidator(v *events.Validator) error {
	if err := head(v.V, &v.Chain); err != nil {
		return err
	}
	if err := key("stash", &v.Stash); err != nil {
		return err
	}
	str(&v.BlockHash, MaxShort)
	errs := []error{
		fact("intention", &v.Intention), fact("commission", &v.Commission), fact("blocked", &v.Blocked), fact("active", &v.Active),
		fact("controller", &v.Controller), fact("self_stake", &v.SelfStake), fact("payee", &v.Payee), fact("balance", &v.Balance),
		fact("identity", &v.Identity), fact("next_keys", &v.NextKeys), fact("unclaimed_eras", &v.UnclaimedEras),
		fact("active_nominators", &v.ActiveNominators), fact("inactive_nominators", &v.InactiveNominators),
		fact("nomination_targets", &v.NominationTargets), fact("nomination_era", &v.NominationEra),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if v.Commission.Value > 1_000_000_000 {
		return fmt.Errorf("commission %d is above 100%% (1e9 Perbill)", v.Commission.Value)
	}
	str(&v.Controller.Value, MaxShort)
	str(&v.Payee.Value, MaxShort)
	if err := amount("self_stake", &v.SelfStake.Value); err != nil {
		return err
	}
	if err := amount("balance", &v.Balance.Value); err != nil {
		return err
	}
	if id := v.Identity.Value; id != nil {
		for _, s := range []*string{&id.Display, &id.Legal, &id.Web, &id.Email, &id.Matrix, &id.Twitter, &id.SubName} {
			str(s, MaxText)
		}
		str(&id.Parent, MaxShort)
		if err := strs("identity judgements", id.Judgements, MaxList, MaxShort); err != nil {
			return err
		}
		if err := strs("identity subs", id.Subs, MaxList, MaxShort); err != nil {
			return err
		}
	}
	if len(v.NextKeys.Value) > MaxKeys {
		return fmt.Errorf("next_keys has %d key types, at most %d", len(v.NextKeys.Value), MaxKeys)
	}
	if m := v.NextKeys.Value; m != nil {
		clean := make(map[string]string, len(m))
		for k, val := range m {
			clean[safe.String(k, MaxShort)] = safe.String(val, MaxText)
		}
		v.NextKeys.Value = clean
	}
	if err := bound("unclaimed_eras", v.UnclaimedEras.Value, MaxList); err != nil {
		return err
	}
	for _, b := range []*events.Fact[[]events.Backer]{&v.ActiveNominators, &v.InactiveNominators} {
		if err := bound("nominators", b.Value, MaxValidators); err != nil {
			return err
		}
		for i := range b.Value {
			str(&b.Value[i].Who, MaxShort)
			if err := amount("nominator value", &b.Value[i].Value); err != nil {
				return err
			}
		}
	}
	if err := strs("nomination_targets", v.NominationTargets.Value, MaxList, MaxShort); err != nil {
		return err
	}
	return observer(&v.Observer)
}

func checkEra(e *events.Era) error {
	if err := head(e.V, &e.Chain); err != nil {
		return err
	}
	if err := strs("validators", e.Validators, MaxValidators, MaxShort); err != nil {
		return err
	}
	if len(e.Points) > MaxValidators {
		return fmt.Errorf("points has %d entries, at most %d", len(e.Points), MaxValidators)
	}
	if e.Points != nil {
		clean := make(map[string]uint32, len(e.Points))
		for k, p := range e.Points {
			clean[safe.String(k, MaxShort)] = p
		}
		e.Points = clean
	}
	return observer(&e.Observer)
}

var faultKinds = map[string]bool{events.FaultOffence: true, events.FaultSlash: true, events.FaultChilled: true,
	events.FaultZeroPoints: true, events.FaultOffline: true}

func checkFault(f *events.Fault) error {
	if err := head(f.V, &f.Chain); err != nil {
		return err
	}
	if err := key("id", &f.ID); err != nil {
		return err
	}
	if err := key("stash", &f.Stash); err != nil {
		return err
	}
	if !faultKinds[f.Kind] {
		return fmt.Errorf("fault kind %q is none of offence, slash, chilled, zero_points, offline", safe.String(f.Kind, 64))
	}
	str(&f.Reason, MaxText)
	if err := times("at", f.At); err != nil {
		return err
	}
	return observer(&f.Observer)
}

func checkTelemetry(n *events.Telemetry) error {
	if err := head(n.V, &n.Chain); err != nil {
		return err
	}
	if err := key("name", &n.Name); err != nil {
		return err
	}
	for _, s := range []*string{&n.Implementation, &n.Version, &n.NetworkID, &n.ValidatorAddress, &n.IP, &n.Week, &n.Feed} {
		str(s, MaxShort)
	}
	if err := times("telemetry time", n.StartupTime, n.DiscoveredAt, n.OnlineSince, n.OfflineSince, n.FeedAt, n.At); err != nil {
		return err
	}
	if n.OfflineWeek < 0 || n.OfflineWeek > 7*24*3600*1000 {
		return fmt.Errorf("offline_week_ms %d is not within a week", n.OfflineWeek)
	}
	if l := n.Location; l != nil {
		if math.Abs(l.Lat) > 90 || math.Abs(l.Lon) > 180 {
			return fmt.Errorf("location %g,%g is not a latitude and longitude", l.Lat, l.Lon)
		}
		for _, s := range []*string{&l.City, &l.Region, &l.Country, &l.Provider} {
			str(s, MaxShort)
		}
	}
	return observer(&n.Observer)
}
