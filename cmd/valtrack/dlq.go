package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/bus"
)

// `valtrack dlq`: read and replay the dead letters the consumers set aside
// on <domain>.dlq.<kind> (docs/events.md), on the same bus as the other
// commands, without natscli.

const (
	defaultDLQLimit = 100
	maxDLQLimit     = 100_000
	maxDLQSeqs      = 1_000
	// dlqErrorWidth bounds the error column of the table; --json has it whole.
	dlqErrorWidth = 160
)

func dlqCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "dlq",
		Usage: "list and replay the dead letters: events a consumer set aside because they could not be applied",
		Description: "An event that the state store or its domain refuses is set aside on <domain>.dlq.<kind> in the\n" +
			"domain's own stream, with the error (docs/events.md). `dlq list` shows them; `dlq replay` publishes\n" +
			"them again on their original subject once the cause is fixed, for the consumer to apply like any\n" +
			"event. Both use the bus of the other commands: --nats-url, or the embedded bus in --data-dir\n" +
			"(which only one process can open: stop `valtrack run` first, or give --nats-url nats://ADDR when\n" +
			"it was started with --bus-listen ADDR).\n\n" +
			"   valtrack dlq list --data-dir ./data\n" +
			"   valtrack dlq list --nats-url nats://nats:4222 --domain ethereum --kind metadata_received --json\n" +
			"   valtrack dlq replay --nats-url nats://nats:4222 --domain ethereum --seq 1234,1240 --dry-run\n" +
			"   valtrack dlq replay --nats-url nats://nats:4222 --all --domain cosmos",
		Commands: []*cli.Command{dlqListCommand(ds), dlqReplayCommand(ds)},
	}
}

// dlqSelectFlags are the flags that choose dead letters, in both commands.
func dlqSelectFlags(ds registry) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "domain", Usage: "only this domain's dead letters (" + strings.Join(ds.names(), ", ") + "); default: every domain", Sources: env("domain"),
			Validator: func(v string) error { return dlqDomain(ds, v) }},
		&cli.StringFlag{Name: "kind", Usage: "only dead letters of this event kind, e.g. metadata_received (<domain>.dlq.<kind>)", Sources: env("kind"),
			Validator: dlqKind},
		&cli.IntFlag{Name: "limit", Value: defaultDLQLimit, Usage: fmt.Sprintf("read at most this many dead letters (1..%d)", maxDLQLimit), Sources: env("limit"),
			Validator: func(v int) error { return intRange("--limit", v, 1, maxDLQLimit) }},
		&cli.DurationFlag{Name: "timeout", Value: bus.DefaultLetterTimeout, Usage: "give up reading the stream after this long", Sources: env("timeout"),
			Validator: func(v time.Duration) error { return positiveDuration("--timeout", v) }},
	}
}

func dlqListCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list dead letters: sequence, time, domain, kind, original subject, size and error",
		Description: "Reads each domain's stream through an ephemeral consumer filtered on <domain>.dlq.> that\n" +
			"acknowledges nothing: the consumers' durable positions are not touched. It lists the dead letters\n" +
			"stored when it starts, oldest first, up to --limit; when more remain it says which --from-seq\n" +
			"continues. --json prints one JSON object per line, with the whole error and the original's\n" +
			"sequence and message id. SEQ is what `valtrack dlq replay --seq` takes. REPLAYED (--json: replays,\n" +
			"last_replay) counts the replays of each letter still in the stream; to find them it looks at the\n" +
			"headers of every message after the first dead letter (from --from-seq on), within --timeout.\n\n" +
			"   valtrack dlq list --data-dir ./data\n" +
			"   valtrack dlq list --nats-url nats://nats:4222 --domain ethereum --limit 1000 --from-seq 52000\n" +
			"   valtrack dlq list --nats-url nats://nats:4222 --json | jq -r .error | sort | uniq -c",
		Flags: concat(dlqSelectFlags(ds), []cli.Flag{
			&cli.Uint64Flag{Name: "from-seq", Usage: "start at this stream sequence (with --domain: sequences are per domain's stream)", Sources: env("from-seq")},
			&cli.BoolFlag{Name: "json", Usage: "one JSON object per dead letter and line, instead of a table", Sources: env("json")},
		}),
		Action: func(ctx context.Context, cmd *cli.Command) error { return dlqListAction(ctx, cmd, ds) },
	}
}

func dlqReplayCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "replay",
		Usage: "publish dead letters again on their original subject, for the consumer to apply",
		Description: "Each dead letter chosen (--seq, or --all of --domain/--kind) is published again, payload\n" +
			"unchanged, on the subject it was first published on (its Valtrack-Dlq-Subject), with a new\n" +
			"Nats-Msg-Id replay-<seq>-<unix ms> so that the duplicate window does not drop it, and the header\n" +
			"Valtrack-Replay-Of: <seq>. The consumer applies it like any event, keyed by the original's message\n" +
			"id (a letter replayed twice is written once); if it still fails it is set aside again, as a new\n" +
			"dead letter. A dead letter whose subject is not <domain>.<network>.<event> of its own domain is\n" +
			"refused. The dead letters stay in the stream until it expires them. Fix the cause first (a\n" +
			"migration, a newer valtrack), then replay; --dry-run shows what would be published.\n" +
			"With --seq, every letter is checked before any is published; with --all, a refused letter is\n" +
			"reported and the others are replayed.\n" +
			"--all skips the letters replayed before (a replay naming them is in the stream; it says how many)\n" +
			"unless --again is given; --seq replays what it names, saying when one was replayed before. To find\n" +
			"the replays it looks at the headers of every message after the first dead letter, within --timeout.\n\n" +
			"   valtrack dlq replay --data-dir ./data --domain ethereum --seq 1234 --dry-run\n" +
			"   valtrack dlq replay --nats-url nats://nats:4222 --domain ethereum --seq 1234,1240\n" +
			"   valtrack dlq replay --nats-url nats://nats:4222 --all --domain cosmos --kind vote",
		Flags: concat(dlqSelectFlags(ds), []cli.Flag{
			&cli.StringFlag{Name: "seq", Usage: "the dead letters to replay, `N[,N…]`: the SEQ that valtrack dlq list shows (needs --domain)", Sources: env("seq"),
				Validator: func(v string) error { _, err := parseSeqs(v); return err }},
			&cli.BoolFlag{Name: "all", Usage: "replay every dead letter of --domain (default: every domain) and --kind, up to --limit", Sources: env("all")},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be replayed; publish nothing", Sources: env("dry-run")},
			&cli.BoolFlag{Name: "again", Usage: "with --all, replay also the dead letters replayed before (skipped by default)", Sources: env("again")},
		}),
		Action: func(ctx context.Context, cmd *cli.Command) error { return dlqReplayAction(ctx, cmd, ds) },
	}
}

func dlqDomain(ds registry, v string) error {
	if v != "" && ds.get(v) == nil {
		return fmt.Errorf("--domain %q: give one of %s", v, strings.Join(ds.names(), ", "))
	}
	return nil
}

func dlqKind(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 64 || strings.ContainsAny(v, " \t\r\n.*>") {
		return fmt.Errorf("--kind %q: give an event kind, the last token of <domain>.dlq.<kind>, such as metadata_received (no '.', '*', '>' or whitespace)", v)
	}
	return nil
}

// parseSeqs reads --seq: stream sequences, comma-separated, each once.
func parseSeqs(v string) ([]uint64, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []uint64
	for part := range strings.SplitSeq(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("--seq %q: %q is not a stream sequence; give positive numbers separated by commas, e.g. --seq 1234,1240", v, part)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
		if len(out) > maxDLQSeqs {
			return nil, fmt.Errorf("--seq: more than %d sequences; replay them in parts, or use --all", maxDLQSeqs)
		}
	}
	return out, nil
}

// openDLQBus opens the bus the other commands use: --nats-url, or the
// embedded one in --data-dir, which must exist already (a mistyped
// directory is reported, not given a new, empty bus). It makes no stream.
func openDLQBus(ctx context.Context, cmd *cli.Command) (*bus.Bus, error) {
	log, err := logger(cmd)
	if err != nil {
		return nil, err
	}
	url, dir := cmd.String("nats-url"), cmd.String("data-dir")
	if url == "" {
		js := filepath.Join(dir, "nats", "jetstream")
		if _, err := os.Stat(js); err != nil {
			return nil, fmt.Errorf("no embedded bus in --data-dir %s (%s is missing): give the --data-dir of your `valtrack run`, or --nats-url for an external NATS JetStream", dir, js)
		}
	}
	b, err := bus.Open(ctx, bus.Config{URL: url, DataDir: dir, Name: "valtrack-dlq"}, log.With("component", "bus"))
	if errors.Is(err, bus.ErrStoreInUse) {
		return nil, fmt.Errorf("open the embedded bus: %w. It can be opened only while no `valtrack run` holds it: stop that run, or, if it was started with --bus-listen ADDR, give --nats-url nats://ADDR instead of --data-dir", err)
	}
	return b, err
}

// busWhere names the bus for the operator: the embedded one by its
// directory (its ClientURL is only "in-process").
func busWhere(cmd *cli.Command, b *bus.Bus) string {
	if b.Embedded() {
		return "the embedded bus in " + filepath.Join(cmd.String("data-dir"), "nats")
	}
	return b.ClientURL()
}

// dlqDomains are the domains to read: --domain, or every registered one.
func dlqDomains(ds registry, cmd *cli.Command) []string {
	if d := cmd.String("domain"); d != "" {
		return []string{d}
	}
	return ds.names()
}

// dlqScan reads the dead letters of the chosen domains, handing each to fn
// with how often it was replayed (when withReplays; found first, from the
// replays in the stream, within its own --timeout), at most --limit in
// all. A domain whose stream does not exist (nothing of it was ever
// published on this bus) holds none; named with --domain, it is reported
// on stderr.
func dlqScan(ctx context.Context, cmd *cli.Command, b *bus.Bus, ds registry, from uint64, noData, withReplays bool, fn func(bus.Letter, bus.ReplayStatus) error) (read int, err error) {
	stderr := cmd.Root().ErrWriter
	left := int(cmd.Int("limit"))
	for _, d := range dlqDomains(ds, cmd) {
		if left == 0 {
			break
		}
		var replays map[uint64]bus.ReplayStatus
		if withReplays {
			rs, err := b.ScanReplays(ctx, d, from, cmd.Duration("timeout"))
			switch {
			case errors.Is(err, jetstream.ErrStreamNotFound):
				// ScanDeadLetters below reports it.
			case errors.Is(err, context.DeadlineExceeded):
				return read, fmt.Errorf("%w: every message after the first dead letter is looked at to find the replays; give a longer --timeout, or a later --from-seq", err)
			case err != nil:
				return read, err
			}
			replays = rs.Replays
		}
		scan, err := b.ScanDeadLetters(ctx, d, bus.LetterQuery{
			Kind: cmd.String("kind"), FromSeq: from, Limit: left, Timeout: cmd.Duration("timeout"), NoData: noData,
			Progress: func(n int, total uint64) {
				fmt.Fprintf(stderr, "valtrack: %s: read %d of %d dead letters…\n", d, n, total)
			},
		}, func(l bus.Letter) error { return fn(l, replays[l.Seq]) })
		read += scan.Read
		left -= scan.Read
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			if cmd.String("domain") != "" {
				fmt.Fprintf(stderr, "valtrack: no stream %s on %s: nothing of %s was published on this bus (check --nats-url or --data-dir)\n", b.StreamName(d), busWhere(cmd, b), d)
			}
			continue
		case errors.Is(err, context.DeadlineExceeded):
			return read, fmt.Errorf("%w: give a longer --timeout, or a smaller --limit", err)
		case err != nil:
			return read, err
		}
		if scan.Next != 0 {
			fmt.Fprintf(stderr, "valtrack: stopped at --limit %d; %d more dead letters of %s from seq %d on: add --domain %s --from-seq %d to go on\n",
				cmd.Int("limit"), scan.Total-uint64(scan.Read), d, scan.Next, d, scan.Next)
		}
	}
	return read, nil
}

// letterJSON is a dead letter in `dlq list --json`.
type letterJSON struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Domain      string    `json:"domain"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	Original    string    `json:"original_subject"`
	OriginalSeq uint64    `json:"original_seq"`
	MsgID       string    `json:"msg_id"`
	ReplayOf    uint64    `json:"replay_of,omitempty"`
	// Replays: how many replays of this letter the stream holds (dlq
	// replay); LastReplay: when the latest was stored.
	Replays    int        `json:"replays"`
	LastReplay *time.Time `json:"last_replay,omitempty"`
	Error      string     `json:"error"`
	Size       int        `json:"size"`
}

func dlqListAction(ctx context.Context, cmd *cli.Command, ds registry) error {
	if cmd.Uint64("from-seq") != 0 && cmd.String("domain") == "" {
		return errors.New("--from-seq needs --domain: stream sequences are per domain's stream")
	}
	b, err := openDLQBus(ctx, cmd)
	if err != nil {
		return err
	}
	defer b.Close()
	out := cmd.Root().Writer
	asJSON := cmd.Bool("json")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SEQ\tTIME\tDOMAIN\tKIND\tSUBJECT\tBYTES\tREPLAYED\tERROR")
	}
	enc := json.NewEncoder(out)
	n, err := dlqScan(ctx, cmd, b, ds, cmd.Uint64("from-seq"), true, true, func(l bus.Letter, r bus.ReplayStatus) error {
		if asJSON {
			j := letterJSON{Seq: l.Seq, Time: l.Time.UTC(), Domain: l.Domain, Kind: l.Kind, Subject: l.Subject,
				Original: l.Original, OriginalSeq: l.StreamSeq, MsgID: l.MsgID, ReplayOf: l.ReplayOf, Error: l.Error, Size: l.Size, Replays: r.Count}
			if r.Count > 0 {
				at := r.Last.UTC()
				j.LastReplay = &at
			}
			return enc.Encode(j)
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", l.Seq, l.Time.UTC().Format(time.RFC3339), l.Domain,
			oneLine(l.Kind, 64), oneLine(l.Original, 128), l.Size, replayedCell(r), oneLine(l.Error, dlqErrorWidth))
		return err
	})
	if !asJSON {
		if ferr := tw.Flush(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(cmd.Root().ErrWriter, "valtrack: %d dead letter(s) on %s\n", n, busWhere(cmd, b))
	}
	return nil
}

// replayedCell is the REPLAYED column: "-", or "<n>x, last <time>".
func replayedCell(r bus.ReplayStatus) string {
	if r.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%dx, last %s", r.Count, r.Last.UTC().Format(time.RFC3339))
}

func dlqReplayAction(ctx context.Context, cmd *cli.Command, ds registry) error {
	seqs, err := parseSeqs(cmd.String("seq"))
	if err != nil {
		return err
	}
	all := cmd.Bool("all")
	switch {
	case len(seqs) == 0 && !all:
		return errors.New("valtrack dlq replay: give --seq N[,N…] (with --domain) or --all; `valtrack dlq list` shows the dead letters and their SEQ")
	case len(seqs) > 0 && all:
		return errors.New("--seq and --all together: give one of them")
	case len(seqs) > 0 && cmd.String("domain") == "":
		return errors.New("--seq needs --domain: stream sequences are per domain's stream (`valtrack dlq list` shows both)")
	case len(seqs) > 0 && cmd.String("kind") != "":
		return errors.New("--kind selects dead letters for --all; --seq names them already: leave --kind out")
	case len(seqs) > 0 && cmd.Bool("again"):
		return errors.New("--again is for --all; --seq replays the letters it names whether or not they were replayed before: leave --again out")
	}
	b, err := openDLQBus(ctx, cmd)
	if err != nil {
		return err
	}
	defer b.Close()
	out, stderr := cmd.Root().Writer, cmd.Root().ErrWriter
	dry := cmd.Bool("dry-run")
	replay := func(l bus.Letter, before bus.ReplayStatus) error {
		note := ""
		if before.Count > 0 {
			note = fmt.Sprintf(" (replayed %d time(s) before, last at %s)", before.Count, before.Last.UTC().Format(time.RFC3339))
		}
		if dry {
			_, err := fmt.Fprintf(out, "would replay %s dead letter %d (%s, %d bytes) on %s%s\n", l.Domain, l.Seq, l.Subject, l.Size, l.Original, note)
			return err
		}
		r, err := b.Replay(ctx, l)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "replayed %s dead letter %d (%s, %d bytes) on %s as message %d, id %s%s\n", l.Domain, l.Seq, l.Subject, l.Size, r.Subject, r.Seq, r.MsgID, note)
		return err
	}
	done, refused, skipped := 0, 0, 0
	if len(seqs) > 0 {
		// Every letter is read and checked before any is published: a
		// mistyped sequence replays nothing rather than part of the list.
		// The check keeps no payload (up to the server's max payload each);
		// the letters are read again to be published.
		d := cmd.String("domain")
		rctx, cancel := context.WithTimeout(ctx, cmd.Duration("timeout"))
		defer cancel()
		read := func(seq uint64) (bus.Letter, error) {
			l, err := b.DeadLetterAt(rctx, d, seq)
			if err == nil {
				err = b.CheckReplay(l)
			}
			switch {
			case errors.Is(err, jetstream.ErrMsgNotFound):
				return l, fmt.Errorf("seq %d: no message in stream %s (expired, deleted, or a sequence of another domain)", seq, b.StreamName(d))
			case errors.Is(err, jetstream.ErrStreamNotFound):
				return l, fmt.Errorf("no stream %s on %s: nothing of %s was published on this bus (check --nats-url or --data-dir)", b.StreamName(d), busWhere(cmd, b), d)
			case errors.Is(err, context.DeadlineExceeded):
				return l, fmt.Errorf("seq %d: %w: give a longer --timeout", seq, err)
			case err != nil:
				return l, fmt.Errorf("seq %d: %w", seq, err)
			}
			return l, nil
		}
		var errs []error
		for _, seq := range seqs {
			if _, err := read(seq); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("nothing replayed: %w; give the SEQ of dead letters that `valtrack dlq list --domain %s` shows", errors.Join(errs...), d)
		}
		// Only to say which were replayed before: --seq replays them
		// anyway, so a failed search is reported, not fatal.
		rs, err := b.ScanReplays(ctx, d, slices.Min(seqs), cmd.Duration("timeout"))
		if err != nil {
			fmt.Fprintf(stderr, "valtrack: could not tell whether these dead letters were replayed before: %v\n", err)
		}
		for _, seq := range seqs {
			l, err := read(seq)
			if err == nil {
				err = replay(l, rs.Replays[seq])
			}
			if err != nil {
				return fmt.Errorf("%w (%d of %d replayed before it)", err, done, len(seqs))
			}
			done++
		}
	} else {
		again := cmd.Bool("again")
		_, err := dlqScan(ctx, cmd, b, ds, 0, false, !again, func(l bus.Letter, before bus.ReplayStatus) error {
			if before.Count > 0 {
				skipped++
				return nil
			}
			if err := b.CheckReplay(l); err != nil {
				refused++
				fmt.Fprintf(stderr, "valtrack: refused: %v\n", err)
				return nil
			}
			if err := replay(l, before); err != nil {
				return err
			}
			done++
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w (%d replayed before it)", err, done)
		}
	}
	switch {
	case dry:
		fmt.Fprintf(stderr, "valtrack: %d dead letter(s) would be replayed; nothing published (--dry-run)\n", done)
	default:
		fmt.Fprintf(stderr, "valtrack: %d dead letter(s) replayed on %s; the consumer applies them like any event, and sets aside again those that still fail (see `valtrack dlq list`)\n", done, busWhere(cmd, b))
	}
	if skipped > 0 {
		fmt.Fprintf(stderr, "valtrack: %d dead letter(s) skipped: replayed before (`valtrack dlq list` shows when); give --again to replay them again\n", skipped)
	}
	if refused > 0 {
		return fmt.Errorf("%d dead letter(s) refused (above), not replayed", refused)
	}
	return nil
}

// oneLine makes a value from the stream fit one cell of the table: no line
// breaks, tabs or other control characters, at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }
