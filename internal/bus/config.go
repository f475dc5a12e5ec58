package bus

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults and bounds of Config. Every limit is named so that an operator
// reading an error message can find it here.
const (
	DefaultMaxAge            = 7 * 24 * time.Hour
	DefaultMaxBytes          = int64(10) << 30
	DefaultDuplicates        = 2 * time.Minute
	DefaultReplicas          = 1
	MaxReplicas              = 5
	DefaultMaxPending        = 4096
	MaxMaxPending            = 1 << 20
	DefaultReconnectWait     = 2 * time.Second
	DefaultConnectTimeout    = 5 * time.Second
	DefaultPublishAckTimeout = 10 * time.Second
	DefaultRetryMaxBackoff   = 2 * time.Second
	embeddedReadyTimeout     = 10 * time.Second
	drainTimeout             = 5 * time.Second
)

// Config configures a Bus. The zero value of every optional field means its
// default.
type Config struct {
	URL        string        // empty: start an embedded nats-server in-process
	DataDir    string        // embedded: JetStream file store under DataDir/nats
	ListenAddr string        // embedded: optional client listen address ("127.0.0.1:4222"); empty = in-process only
	MaxAge     time.Duration // stream retention (limits-based); default 7*24h
	MaxBytes   int64         // stream max bytes (-1 unlimited); default: embedded, sized from the free disk (AutoMaxBytes); external, 10 GiB
	// Streams is how many streams this process ensures (default 1): the
	// embedded server's default MaxBytes splits the disk over them, and an
	// error of a full server names the total.
	Streams      int
	Duplicates   time.Duration // duplicates window for Nats-Msg-Id dedupe; default 2m
	Replicas     int           // stream replicas (cluster); default 1
	MaxPending   int           // max unacknowledged async publishes per publisher; default 4096
	StreamPrefix string        // optional prefix for stream names (tests use unique ones on a shared server)
	Name         string        // connection name

	// SubjectPrefix, when set (it must end with "."), is put in front of every
	// subject the bus publishes, stores and filters, and removed from the
	// subjects it delivers. Streams on one server cannot share subjects, so
	// tests on a shared server need it beside StreamPrefix.
	SubjectPrefix string
	// ReconnectWait is the pause between reconnection attempts to an external
	// server; default 2s.
	ReconnectWait time.Duration
	// ConnectTimeout bounds the first connection to an external server; default 5s.
	ConnectTimeout time.Duration
	// PublishAckTimeout is how long a publish waits for the stream's
	// acknowledgement before it is re-sent; default 10s.
	PublishAckTimeout time.Duration
	// RetryMaxBackoff caps the pause between re-sends of one message; default 2s.
	RetryMaxBackoff time.Duration
	// Registerer receives the bus metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

// withDefaults returns cfg with defaults filled in, or an error naming the
// first invalid field and what to do about it.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL != "" {
		if err := validateURL(cfg.URL); err != nil {
			return cfg, err
		}
		if cfg.ListenAddr != "" {
			return cfg, errors.New("bus config: ListenAddr applies only to the embedded server; unset it or unset URL")
		}
	} else {
		if cfg.DataDir == "" {
			return cfg, errors.New("bus config: DataDir is empty; the embedded server needs a data directory (set DataDir, or URL for an external server)")
		}
		if cfg.ListenAddr != "" {
			if _, _, err := splitListenAddr(cfg.ListenAddr); err != nil {
				return cfg, err
			}
		}
	}
	switch {
	case cfg.MaxAge < 0:
		return cfg, fmt.Errorf("bus config: MaxAge %s is negative; use 0 for the default %s", cfg.MaxAge, DefaultMaxAge)
	case cfg.MaxAge == 0:
		cfg.MaxAge = DefaultMaxAge
	}
	switch {
	case cfg.MaxBytes < -1:
		return cfg, fmt.Errorf("bus config: MaxBytes %d is invalid; use -1 for unlimited or 0 for the default (sized from the free disk, at most %d)", cfg.MaxBytes, DefaultMaxBytes)
	case cfg.MaxBytes == 0 && cfg.URL != "":
		// The disk of an external server is not ours to measure.
		cfg.MaxBytes = DefaultMaxBytes
	}
	switch {
	case cfg.Streams < 0:
		return cfg, fmt.Errorf("bus config: Streams %d is negative; use 0 for the default 1", cfg.Streams)
	case cfg.Streams == 0:
		cfg.Streams = 1
	}
	switch {
	case cfg.Duplicates < 0:
		return cfg, fmt.Errorf("bus config: Duplicates %s is negative; use 0 for the default %s", cfg.Duplicates, DefaultDuplicates)
	case cfg.Duplicates == 0:
		cfg.Duplicates = min(DefaultDuplicates, cfg.MaxAge)
	}
	if cfg.Duplicates > cfg.MaxAge {
		return cfg, fmt.Errorf("bus config: Duplicates %s exceeds MaxAge %s; the duplicate window must fit in the retention", cfg.Duplicates, cfg.MaxAge)
	}
	switch {
	case cfg.Replicas < 0 || cfg.Replicas > MaxReplicas:
		return cfg, fmt.Errorf("bus config: Replicas %d is out of range 1..%d", cfg.Replicas, MaxReplicas)
	case cfg.Replicas == 0:
		cfg.Replicas = DefaultReplicas
	}
	if cfg.URL == "" && cfg.Replicas > 1 {
		return cfg, fmt.Errorf("bus config: Replicas %d needs a NATS cluster; set URL or use 1 replica with the embedded server", cfg.Replicas)
	}
	switch {
	case cfg.MaxPending < 0 || cfg.MaxPending > MaxMaxPending:
		return cfg, fmt.Errorf("bus config: MaxPending %d is out of range 1..%d", cfg.MaxPending, MaxMaxPending)
	case cfg.MaxPending == 0:
		cfg.MaxPending = DefaultMaxPending
	}
	if err := validateStreamPrefix(cfg.StreamPrefix); err != nil {
		return cfg, err
	}
	if err := validateSubjectPrefix(cfg.SubjectPrefix); err != nil {
		return cfg, err
	}
	var err error
	if cfg.ReconnectWait, err = positiveOrDefault("ReconnectWait", cfg.ReconnectWait, DefaultReconnectWait); err != nil {
		return cfg, err
	}
	if cfg.ConnectTimeout, err = positiveOrDefault("ConnectTimeout", cfg.ConnectTimeout, DefaultConnectTimeout); err != nil {
		return cfg, err
	}
	if cfg.PublishAckTimeout, err = positiveOrDefault("PublishAckTimeout", cfg.PublishAckTimeout, DefaultPublishAckTimeout); err != nil {
		return cfg, err
	}
	if cfg.RetryMaxBackoff, err = positiveOrDefault("RetryMaxBackoff", cfg.RetryMaxBackoff, DefaultRetryMaxBackoff); err != nil {
		return cfg, err
	}
	if strings.ContainsAny(cfg.Name, "\r\n") {
		return cfg, errors.New("bus config: Name contains a line break; use a single-line connection name")
	}
	return cfg, nil
}

func positiveOrDefault(field string, v, def time.Duration) (time.Duration, error) {
	switch {
	case v < 0:
		return 0, fmt.Errorf("bus config: %s %s is negative; use 0 for the default %s", field, v, def)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// validateURL checks every server of a comma-separated NATS URL list without
// ever quoting a credential back.
func validateURL(raw string) error {
	for part := range strings.SplitSeq(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return errors.New("bus config: URL has an empty entry; use nats://host:port[,nats://host:port]")
		}
		u, err := url.Parse(part)
		if err != nil {
			return fmt.Errorf("bus config: URL %q does not parse; use nats://host:port", RedactURL(part))
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("bus config: URL %q has scheme %q; use nats://, tls://, ws:// or wss://", RedactURL(part), u.Scheme)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("bus config: URL %q has no host; use nats://host:port", RedactURL(part))
		}
	}
	return nil
}

func splitListenAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("bus config: ListenAddr %q is not host:port (e.g. 127.0.0.1:4222)", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bus config: ListenAddr %q has an invalid port; use 0..65535", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// validateStreamPrefix applies JetStream's stream-name rules: no whitespace,
// no subject separators or wildcards, no path separators.
func validateStreamPrefix(p string) error {
	if strings.ContainsAny(p, " \t\r\n.*>/\\") {
		return fmt.Errorf("bus config: StreamPrefix %q may not contain whitespace, '.', '*', '>', '/' or '\\'", p)
	}
	if len(p) > 64 {
		return fmt.Errorf("bus config: StreamPrefix is %d characters; keep it under 64", len(p))
	}
	return nil
}

func validateSubjectPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasSuffix(p, ".") {
		return fmt.Errorf("bus config: SubjectPrefix %q must end with '.'", p)
	}
	for tok := range strings.SplitSeq(strings.TrimSuffix(p, "."), ".") {
		if !validToken(tok) {
			return fmt.Errorf("bus config: SubjectPrefix %q has an empty or invalid token; use letters, digits, '-' and '_'", p)
		}
	}
	return nil
}

// validToken reports whether tok is a literal subject token: no wildcards,
// no whitespace, not empty.
func validToken(tok string) bool {
	if tok == "" || tok == "*" || tok == ">" {
		return false
	}
	return !strings.ContainsAny(tok, " \t\r\n.*>")
}

// validateDomain keeps domains to lower-case names so that the stream name
// (upper-cased) and subjects stay predictable.
func validateDomain(domain string) error {
	if domain == "" {
		return errors.New("domain is empty; use a lower-case name such as \"ethereum\"")
	}
	if len(domain) > 32 {
		return fmt.Errorf("domain %q is longer than 32 characters", domain)
	}
	for _, r := range domain {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return fmt.Errorf("domain %q may only hold a-z, 0-9, '-' and '_'", domain)
		}
	}
	return nil
}

// validateSubject checks a subject to publish on.
func validateSubject(subject string) error {
	if subject == "" {
		return errors.New("subject is empty")
	}
	if len(subject) > 512 {
		return fmt.Errorf("subject is %d bytes long; keep it under 512", len(subject))
	}
	for tok := range strings.SplitSeq(subject, ".") {
		if !validToken(tok) {
			return fmt.Errorf("subject %q has an empty, wildcard or whitespace token", subject)
		}
	}
	return nil
}
