package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bus is a connection to NATS JetStream, embedded or external.
type Bus struct {
	cfg     Config
	log     *slog.Logger
	srv     *server.Server // nil for an external server
	unlock  func()         // releases the embedded server's store lock
	nc      *nats.Conn
	js      jetstream.JetStream
	metrics *Metrics
	closed  chan struct{} // closed by the connection's ClosedHandler
	secrets []string
	// autoSize: MaxBytes was sized from the free disk, not given, so an
	// existing stream with a larger limit keeps it (see EnsureStream).
	autoSize bool
}

// Open validates cfg and connects: to an embedded nats-server started here
// when cfg.URL is empty, else to the external server(s), reconnecting forever.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	metrics, err := NewMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	b := &Bus{cfg: cfg, log: log, metrics: metrics, closed: make(chan struct{}), secrets: secretsOf(cfg.URL)}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}

	name := cfg.Name
	if name == "" {
		name = "valtrack"
	}
	redacted := b.ClientURL()
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.Timeout(cfg.ConnectTimeout),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected; reconnecting", "url", redacted, "err", scrub(err, b.secrets))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", RedactURL(nc.ConnectedUrl()))
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("nats async error", "subject", subj, "err", scrub(err, b.secrets))
		}),
	}

	url := cfg.URL
	if url == "" && cfg.MaxBytes == 0 {
		b.cfg.MaxBytes = embeddedMaxBytes(filepath.Join(cfg.DataDir, "nats"), cfg.Streams)
		b.autoSize = true
		log.Debug("stream size from the free disk", "max_bytes", b.cfg.MaxBytes, "streams", cfg.Streams)
	}
	if url == "" {
		b.srv, b.unlock, err = startEmbedded(cfg, log)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(b.srv))
	}
	b.nc, err = nats.Connect(url, opts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("connect to NATS at %s: %w (check the URL and that the server runs with JetStream)",
			redacted, scrub(err, b.secrets))
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.nc.Close()
		b.shutdownServer()
		return nil, fmt.Errorf("open JetStream context on %s: %w", redacted, err)
	}
	if b.srv == nil {
		// Fail early on a server without JetStream rather than on the first publish.
		actx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		_, err := b.js.AccountInfo(actx)
		cancel()
		if err != nil {
			b.nc.Close()
			return nil, fmt.Errorf("query JetStream account at %s: %w (is JetStream enabled on the server, -js?)", redacted, scrub(err, b.secrets))
		}
	}
	log.Debug("bus open", "url", redacted, "embedded", b.Embedded())
	return b, nil
}

// Close drains the connection and shuts down the embedded server. Close
// publishers first: messages they still hold are lost here.
func (b *Bus) Close() error {
	var errs []error
	if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("drain NATS connection: %w", err))
		b.nc.Close()
	}
	select {
	case <-b.closed:
	case <-time.After(drainTimeout + time.Second):
		b.nc.Close()
		errs = append(errs, errors.New("drain NATS connection: timed out; closed it"))
	}
	b.shutdownServer()
	return errors.Join(errs...)
}

func (b *Bus) shutdownServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	if b.unlock != nil {
		b.unlock()
		b.unlock = nil
	}
}

// Healthy fails while the connection to NATS is down (it reconnects on
// its own; events wait in the publishers meanwhile). It asks nothing of
// the server: /healthz may call it often.
func (b *Bus) Healthy() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("not connected to NATS at %s (%s); it reconnects on its own — check the server", b.ClientURL(), st)
	}
	return nil
}

// Embedded reports whether the bus runs its own nats-server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// ClientURL is the server address fit for logs: the redacted URL, the
// embedded server's listen URL, or "in-process".
func (b *Bus) ClientURL() string {
	if b.cfg.URL != "" {
		return RedactURL(b.cfg.URL)
	}
	if b.srv != nil && b.cfg.ListenAddr != "" {
		return b.srv.ClientURL()
	}
	return "in-process"
}

// JetStream is the underlying JetStream context, for administration and tests.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn is the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Metrics are the bus metrics (also registered on Config.Registerer).
func (b *Bus) Metrics() *Metrics { return b.metrics }

// StreamName is the stream of a domain: StreamPrefix + upper-case domain.
func (b *Bus) StreamName(domain string) string {
	return b.cfg.StreamPrefix + strings.ToUpper(domain)
}

// Subject is the subject a message published on subject is stored under
// (SubjectPrefix + subject).
func (b *Bus) Subject(subject string) string { return b.cfg.SubjectPrefix + subject }

// StreamConfig is the stream EnsureStream creates for a domain.
func (b *Bus) StreamConfig(domain string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        b.StreamName(domain),
		Description: "valtrack " + domain + " events",
		Subjects:    []string{b.cfg.SubjectPrefix + domain + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      b.cfg.MaxAge,
		MaxBytes:    b.cfg.MaxBytes,
		Duplicates:  b.cfg.Duplicates,
		Replicas:    b.cfg.Replicas,
		MaxMsgs:     -1,
	}
}

// StreamExists reports whether the stream of a domain exists.
func (b *Bus) StreamExists(ctx context.Context, domain string) (bool, error) {
	_, err := b.js.Stream(ctx, b.StreamName(domain))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look up stream %s on %s: %w", b.StreamName(domain), b.ClientURL(), scrub(err, b.secrets))
}

// EnsureStream creates the stream of a domain (subjects "<domain>.>") or
// updates it to the configured limits.
func (b *Bus) EnsureStream(ctx context.Context, domain string) error {
	if err := validateDomain(domain); err != nil {
		return fmt.Errorf("ensure stream: %w", err)
	}
	sc := b.StreamConfig(domain)
	// The configuration is applied as given, replicas included: NATS moves
	// a stream between replica counts by itself. A change is worth a line in
	// the log, because one process started with another --bus-replicas than
	// the rest changes the stream for all of them.
	if s, err := b.js.Stream(ctx, sc.Name); err == nil {
		have := s.CachedInfo().Config
		if have.Replicas != sc.Replicas {
			b.log.Warn("changing the stream's replica count", "stream", sc.Name, "from", have.Replicas, "to", sc.Replicas)
		}
		// A size from the free disk shrinks as the disk fills; applied to
		// an existing stream it would drop events not consumed yet. Only a
		// size given by the operator changes a stream's limit.
		if b.autoSize && (have.MaxBytes < 0 || have.MaxBytes > sc.MaxBytes) {
			sc.MaxBytes = have.MaxBytes
		}
	}
	if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
		if isStorageExhausted(err) {
			return fmt.Errorf("ensure stream %s on %s: %w: %s", sc.Name, b.ClientURL(), scrub(err, b.secrets),
				storageHint(sc.MaxBytes, b.cfg.Streams, b.autoSize))
		}
		return fmt.Errorf("ensure stream %s on %s: %w (check the server's JetStream limits and that no other stream holds %s)",
			sc.Name, b.ClientURL(), scrub(err, b.secrets), sc.Subjects[0])
	}
	return nil
}
