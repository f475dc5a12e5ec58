// Package domain is the contract between valtrack's shared layers and a
// domain — one kind of network valtrack observes (ethereum, cosmos, ssv,
// polkadot). A domain owns its events, tables and migrations, sink,
// archive tables, analyzers, HTTP routes and page section, sentries and
// progress line; it hands them to the platform through Domain and Parts.
// cmd/valtrack registers the domains explicitly, in a list.
//
// Everything else derives from the name: the stream is NAME (upper case),
// subjects are name.<network>.<event> (dead letters name.dlq.<kind>), the
// tables are name_*, the archive is parquet/name/…, the API is under
// /api/v1/name, the durable consumer is <--durable>-name.
//
// This package imports shared packages only; no shared package imports it,
// and a domain never touches another domain's tables.
package domain

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/geo"
	"github.com/valtrack/valtrack/internal/store"
)

// Role is the command a domain is opened for; it decides which Parts the
// platform uses (and so which a domain needs to build).
type Role int

// The roles.
const (
	RoleRun      Role = iota // valtrack run: everything
	RoleSentry               // valtrack sentry <domain>: Sentries
	RoleConsumer             // valtrack consumer: Sink, Analyzers
	RoleServe                // valtrack serve: the API
)

func (r Role) String() string {
	return [...]string{"run", "sentry", "consumer", "serve"}[r]
}

// Domain is a domain as registered, before flags are parsed.
type Domain interface {
	// Name is the domain's name: lower case letters and digits.
	Name() string
	// Usage is one line for `valtrack sentry <name>`.
	Usage() string
	// Flags are the domain's own flags for a role (network selection,
	// sentry, analyzers). Names must not clash with the platform's or
	// another domain's: prefix them with the domain where they are not
	// obviously its own (--eth, --cosmos, --ssv-contract…).
	Flags(r Role) []cli.Flag
	// Migrations are its tables' migrations (store.Migrations.Domain is
	// Name()).
	Migrations() store.Migrations
	// Selected reports whether the command line chose networks of this
	// domain. When no domain is selected, `valtrack run` opens the default
	// domain (the first registered) with Env.Default set.
	Selected(cmd *cli.Command) bool
	// SelectWith is what selects the domain on the command line, as a
	// user types it (the flags Selected looks for, with their values'
	// shape), e.g. "--cosmos NAME=RPC[,RPC…]". A process that does not
	// run the domain tells a client asking for its routes to start it so.
	SelectWith() string
	// Open builds the domain's parts for a role from the parsed flags. It
	// releases what it opened when it fails. ctx bounds the opening only:
	// it ends once every domain has opened, so what Open starts for the
	// process's lifetime takes its own context and stops in Close.
	Open(ctx context.Context, env Env) (*Parts, error)
}

// Checker is a domain that refuses bad flag values before anything is
// opened. The platform calls Check before it listens, connects to the bus
// or migrates the database, so that a typo fails in a moment rather than
// after a slow connect (or, worse, after a migration). Check must not open
// anything; Open still validates what it uses, Check only moves the
// refusal earlier.
type Checker interface {
	Check(cmd *cli.Command, r Role) error
}

// CheckFlags runs Check of every domain of ds that has one, naming the
// domain in the error.
func CheckFlags(cmd *cli.Command, r Role, ds []Domain) error {
	for _, d := range ds {
		if c, ok := d.(Checker); ok {
			if err := c.Check(cmd, r); err != nil {
				return fmt.Errorf("%s: %w", d.Name(), err)
			}
		}
	}
	return nil
}

// Starter is a domain whose Open can take a while (it starts a devnet, say).
// The platform opens the domains concurrently and, while an Open is still
// running after a few seconds, prints "waiting for <Starting> to start" so
// that the user knows what the start waits for. Starting is what Open will
// start for these flags, as a user reads it ("the polkadot devnet
// (chopsticks)"); "" when it starts nothing slow. It must not open
// anything.
type Starter interface {
	Starting(cmd *cli.Command, r Role) string
}

// Devnet is a domain with a local network of real protocol software, for
// trying valtrack out and for tests: `valtrack devnet <name>`.
type Devnet interface {
	DevnetCommand() *cli.Command
}

// Env is what the platform gives Open.
type Env struct {
	Role Role
	Cmd  *cli.Command // parsed flags: the platform's and the domain's
	// Default: nothing was selected on the command line; open the domain's
	// default network(s), if it has any.
	Default bool
	DataDir string
	Log     *slog.Logger
	// Registerer takes the domain's metrics.
	Registerer prometheus.Registerer
	// DB is the shared database (run, consumer, serve); the domain's
	// migrations have been applied.
	DB *store.DB
	// Archive is the shared archive writer (run, consumer), nil when
	// disabled; a domain registers its tables on it in Open.
	Archive *archive.Writer
	// Geo locates IP addresses (run, consumer). Without MaxMind databases
	// it still classes private, loopback and unknown addresses.
	Geo *geo.Resolver
	// Publisher publishes the domain's events (run, sentry). It is the
	// domain's own view of the process's one bus publisher (a bus.Scope):
	// the connection, queue and pending limit are shared, but its Flush
	// (Flusher) waits only for what was published through it, never for
	// another domain's traffic.
	Publisher Publisher
	// NewPublisher, when set (run, sentry), makes a further view of the
	// bus publisher for one part of the domain (a network's sentry), whose
	// Flush waits for that part's messages alone. Call PublisherFor, which
	// falls back to Publisher where the platform gives none (tests).
	NewPublisher func(name string) Publisher
	// SentryID and SentryLocation identify this process's sentries in
	// events.
	SentryID, SentryLocation string
}

// Publisher publishes one event with its deterministic message id; the bus
// publisher and its scopes implement it.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// Flusher is a Publisher that can wait until the bus acknowledged every
// message published through it before the call (bus.Scope, bus.Publisher):
// its Publish returns once a message is queued in memory, which an outage
// followed by a stop can lose. A sentry that records progress (a cursor)
// flushes first. The Publisher in Env is a view of its own, so the wait
// covers the domain's messages only.
type Flusher interface {
	Publisher
	Flush(ctx context.Context) error
}

// PublisherFor returns the Publisher for the part of the domain named name
// (one network's sentry): a view of its own from NewPublisher, so that its
// Flush waits neither for other domains' messages nor for the domain's
// other networks'; Publisher when NewPublisher is nil.
func (e Env) PublisherFor(name string) Publisher {
	if e.NewPublisher != nil {
		return e.NewPublisher(name)
	}
	return e.Publisher
}

// Sentry observes one network and publishes what it sees until ctx ends.
type Sentry interface {
	// Network is the network it observes (for logs).
	Network() string
	Run(ctx context.Context) error
}

// Parts are what an open domain provides for its role; a nil field is a
// part it does not have.
type Parts struct {
	// Networks are the configured networks (progress, the API's network
	// list).
	Networks []string
	Sentries []Sentry
	// Sink is what the shared consumer applies the domain's events with.
	Sink      consumer.Sink
	Analyzers []analyze.Analyzer
	// API is the domain's part of the HTTP API: routes, OpenAPI fragment,
	// page section, network resolver (run, serve).
	API *api.Domain
	// Progress returns the domain's progress lines (one per network, as
	// slog key-value pairs), printed every --progress-every.
	Progress func(ctx context.Context) [][]any
	// Health reports whether the domain's parts are healthy (a sentry
	// fallen behind its chain, say); /healthz answers 503 with its error.
	// It must be cheap: it runs at most once per health interval.
	Health func(ctx context.Context) error
	// Close releases what Open opened, after every part has stopped.
	Close func() error
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

// Validate checks a registration list: names well formed and unique.
func Validate(ds []Domain) error {
	if len(ds) == 0 {
		return fmt.Errorf("no domain registered")
	}
	seen := map[string]bool{}
	for _, d := range ds {
		n := d.Name()
		if !nameRE.MatchString(n) {
			return fmt.Errorf("domain %q: a name is lower-case letters and digits, starting with a letter", n)
		}
		if seen[n] {
			return fmt.Errorf("domain %q registered twice", n)
		}
		if m := d.Migrations(); m.Domain != n {
			return fmt.Errorf("domain %q: its migrations are registered as %q", n, m.Domain)
		}
		seen[n] = true
	}
	return nil
}
