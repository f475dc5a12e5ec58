package alerts

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Severity orders alerts: a channel receives those at or above its
// min_severity.
type Severity int

// The severities, in increasing order.
const (
	Info Severity = iota + 1
	Warning
	Critical
)

var severityNames = map[Severity]string{Info: "info", Warning: "warning", Critical: "critical"}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "none"
}

// ParseSeverity reads "info", "warning" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for v, n := range severityNames {
		if n == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use info, warning or critical", s)
}

// Rule names.
const (
	RuleConsecutiveMissed = "consecutive_missed"
	RuleWindowMissedShare = "window_missed_share"
	RuleTimeToJail        = "time_to_jail"
	RuleChainStalled      = "chain_stalled"
	RuleEndpointsDown     = "endpoints_down"
)

// ThresholdAll is the endpoints_down threshold "all": every endpoint of the
// chain is unhealthy.
const ThresholdAll = -1

// ruleKind describes how a rule's thresholds read and compare.
type ruleKind struct {
	unit string // of values and thresholds: blocks, share, seconds, endpoints
	// lowerIsWorse: the condition holds when the value is at or below the
	// threshold (time to jail); otherwise at or above it.
	lowerIsWorse bool
	chainLevel   bool
	parse        func(n *yaml.Node) (float64, error)
	defaults     map[Severity]float64
}

var ruleKinds = map[string]ruleKind{
	RuleConsecutiveMissed: {unit: "blocks", parse: parseCount,
		defaults: map[Severity]float64{Warning: 3, Critical: 10}},
	RuleWindowMissedShare: {unit: "share", parse: parseShare,
		defaults: map[Severity]float64{Warning: 0.05, Critical: 0.2}},
	RuleTimeToJail: {unit: "seconds", lowerIsWorse: true, parse: parseSeconds,
		defaults: map[Severity]float64{Warning: 3600, Critical: 600}},
	RuleChainStalled: {unit: "seconds", chainLevel: true, parse: parseSeconds,
		defaults: map[Severity]float64{Warning: 60, Critical: 300}},
	RuleEndpointsDown: {unit: "endpoints", chainLevel: true, parse: parseEndpoints,
		defaults: map[Severity]float64{Warning: 1, Critical: ThresholdAll}},
}

// RuleNames lists the rules in a fixed order.
func RuleNames() []string {
	return []string{RuleConsecutiveMissed, RuleWindowMissedShare, RuleTimeToJail, RuleChainStalled, RuleEndpointsDown}
}

// Rule configures one rule.
type Rule struct {
	Enabled bool
	// Thresholds per severity, in the rule's unit (blocks, share of the
	// window, seconds, endpoints; ThresholdAll for "all").
	Thresholds map[Severity]float64
	// For overrides Config.For (nil: the global value).
	For *time.Duration
	// Chains limits the rule to these chains (empty: all).
	Chains []string
	// Validators overrides Config.Validators for this rule (empty: the global list).
	Validators []string
	// MinHeights (window_missed_share only): while the chain's slashing
	// window is unknown the share is of the heights observed, and the rule
	// waits until the validator has this many (default
	// DefaultWindowMinHeights), so one miss at start is not 100%.
	MinHeights int64
}

// DefaultWindowMinHeights is window_missed_share's default min_heights.
const DefaultWindowMinHeights = 100

// Channel is one destination of notifications. Secrets (URL, token,
// routing key) come from an environment variable or a file; the literal
// forms are accepted with a warning.
type Channel struct {
	Name        string
	Type        string // webhook | discord | slack | telegram | pagerduty
	MinSeverity Severity

	URL, URLEnv, URLFile                      string // webhook, discord, slack
	Token, TokenEnv, TokenFile                string // telegram bot token
	ChatID                                    string // telegram
	RoutingKey, RoutingKeyEnv, RoutingKeyFile string // pagerduty
	// APIURL replaces https://api.telegram.org or https://events.pagerduty.com.
	APIURL string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Channel types.
const (
	TypeWebhook   = "webhook"
	TypeDiscord   = "discord"
	TypeSlack     = "slack"
	TypeTelegram  = "telegram"
	TypePagerDuty = "pagerduty"
)

// Defaults and limits of the configuration.
const (
	DefaultInterval       = 2 * time.Second
	DefaultResolveAfter   = 30 * time.Second
	DefaultReminder       = time.Hour
	DefaultChannelTimeout = 10 * time.Second
	maxChannels           = 32
	maxConfigBytes        = 1 << 20
)

// Config is the alerting configuration (the --alerts file).
type Config struct {
	Channels []Channel
	Rules    map[string]Rule // every rule of RuleNames
	// Validators are the addresses or monikers to alert on; "*" is every
	// validator in the set.
	Validators   []string
	For          time.Duration // a condition holds this long before it fires
	ResolveAfter time.Duration // a condition is clear this long before it resolves
	Reminder     time.Duration // a firing alert is re-sent this often (0: never)
	Interval     time.Duration // how often the rules are evaluated
	// Warnings are things that work but should change (a literal secret);
	// New logs them.
	Warnings []string
}

// DefaultConfig is the configuration without a file: no channels (alerts
// are still tracked and listed), every rule with its default thresholds.
func DefaultConfig() Config {
	c := Config{Rules: map[string]Rule{}, Validators: []string{"*"},
		ResolveAfter: DefaultResolveAfter, Reminder: DefaultReminder, Interval: DefaultInterval}
	for name, k := range ruleKinds {
		th := map[Severity]float64{}
		for s, v := range k.defaults {
			th[s] = v
		}
		r := Rule{Enabled: true, Thresholds: th}
		if name == RuleWindowMissedShare {
			r.MinHeights = DefaultWindowMinHeights
		}
		c.Rules[name] = r
	}
	return c
}

// LoadConfig reads the alerting configuration from a YAML file. Errors name
// the file and the line. Secrets are checked (the variable is set, the file
// readable) but never appear in an error.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("alerts config %s does not exist: check the --alerts path (%s describes the file and has an example)", path, DocPath)
	}
	if err != nil {
		return Config{}, fmt.Errorf("alerts config %s: %w; check the --alerts path and the file's permissions", path, err)
	}
	defer f.Close()
	data, err := readBounded(f, maxConfigBytes)
	if err != nil {
		return Config{}, fmt.Errorf("alerts config %s: %w", path, err)
	}
	return ParseConfig(data, path)
}

func readBounded(f *os.File, limit int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("file is %d bytes, more than the %d allowed", st.Size(), limit)
	}
	data := make([]byte, st.Size())
	_, err = f.ReadAt(data, 0)
	if err != nil && st.Size() > 0 {
		return nil, err
	}
	return data, nil
}

// DocPath is the document that describes the alerts file: every error
// about the file points there, since `valtrack run --help` only names the
// flag.
const DocPath = "docs/cosmos-alerts.md"

// ParseConfig parses a configuration; name (the file) prefixes errors,
// which name the line and the key, and point to DocPath.
func ParseConfig(data []byte, name string) (Config, error) {
	c, err := parseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("alerts config %s: %w; the keys and their values are described in %s", name, err, DocPath)
	}
	return c, nil
}

// lineErr is an error at a line of the file.
type lineErr struct {
	line int
	msg  string
}

func (e *lineErr) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// lineError is an error at a line of the file.
func lineError(n *yaml.Node, format string, args ...any) error {
	return &lineErr{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// within says where in the file an error is (what, e.g. "rule x,
// threshold"), keeping its line first so every message reads "line N: …".
func within(err error, what string) error {
	var le *lineErr
	if errors.As(err, &le) {
		return &lineErr{line: le.line, msg: what + ": " + le.msg}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func parseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%s; fix the YAML syntax", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 { // an empty file: the defaults
		return c, nil
	}
	top, err := mapping(doc.Content[0], "the top level", "channels", "rules", "validators", "for", "resolve_after", "reminder", "interval")
	if err != nil {
		return Config{}, err
	}
	if n := top["validators"]; n != nil {
		if c.Validators, err = stringList(n, "validators"); err != nil {
			return Config{}, err
		}
		if len(c.Validators) == 0 {
			return Config{}, lineError(n, `validators is empty: list addresses or monikers, or "*" for every validator in the set`)
		}
	}
	for key, dst := range map[string]*time.Duration{"for": &c.For, "resolve_after": &c.ResolveAfter, "reminder": &c.Reminder, "interval": &c.Interval} {
		if n := top[key]; n != nil {
			if *dst, err = duration(n, key); err != nil {
				return Config{}, err
			}
		}
	}
	if n := top["interval"]; n != nil && c.Interval < time.Second {
		return Config{}, lineError(n, "interval %s is below the 1s minimum", c.Interval)
	}
	if n := top["rules"]; n != nil {
		if err := parseRules(n, &c); err != nil {
			return Config{}, err
		}
	}
	if n := top["channels"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			return Config{}, lineError(n, "channels must be a list of channels")
		}
		if len(n.Content) > maxChannels {
			return Config{}, lineError(n, "%d channels, more than the %d allowed", len(n.Content), maxChannels)
		}
		seen := map[string]int{}
		for _, cn := range n.Content {
			ch, warn, err := parseChannel(cn)
			if err != nil {
				return Config{}, err
			}
			if l, dup := seen[ch.Name]; dup {
				return Config{}, lineError(cn, "channel %q is defined twice (first at line %d); give each channel its own name", ch.Name, l)
			}
			seen[ch.Name] = cn.Line
			c.Channels = append(c.Channels, ch)
			c.Warnings = append(c.Warnings, warn...)
		}
	}
	return c, nil
}

// mapping checks that n is a mapping with only allowed keys, each once.
func mapping(n *yaml.Node, where string, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, lineError(n, "%s must be a mapping of keys to values", where)
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !ok[k.Value] {
			known := append([]string(nil), allowed...)
			sort.Strings(known)
			return nil, lineError(k, "unknown key %q in %s; known keys: %s", k.Value, where, strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, lineError(k, "key %q appears twice in %s", k.Value, where)
		}
		out[k.Value] = v
	}
	return out, nil
}

func scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", lineError(n, "%s must be a single value", key)
	}
	return n.Value, nil
}

func stringList(n *yaml.Node, key string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, lineError(n, "%s must be a list of strings", key)
	}
	var out []string
	for _, e := range n.Content {
		s, err := scalar(e, key)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, lineError(e, "%s has an empty entry", key)
		}
		out = append(out, s)
	}
	return out, nil
}

func duration(n *yaml.Node, key string) (time.Duration, error) {
	s, err := scalar(n, key)
	if err != nil {
		return 0, err
	}
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, lineError(n, "%s %q is not a duration such as 30s, 5m or 1h", key, s)
	}
	return d, nil
}

func parseCount(n *yaml.Node) (float64, error) {
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v < 1 {
		return 0, lineError(n, "%q is not a whole number of at least 1", n.Value)
	}
	return float64(v), nil
}

func parseEndpoints(n *yaml.Node) (float64, error) {
	if n.Value == "all" {
		return ThresholdAll, nil
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v < 1 {
		return 0, lineError(n, `%q is neither a number of endpoints (at least 1) nor "all"`, n.Value)
	}
	return float64(v), nil
}

func parseShare(n *yaml.Node) (float64, error) {
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(v) || v <= 0 || v > 1 {
		return 0, lineError(n, "%q is not a share of the window above 0 and at most 1 (0.05 is 5%%)", n.Value)
	}
	return v, nil
}

func parseSeconds(n *yaml.Node) (float64, error) {
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 {
		return 0, lineError(n, "%q is not a positive duration such as 10m or 1h", n.Value)
	}
	return d.Seconds(), nil
}

// parseRules reads the rules mapping. A rule that names any threshold
// replaces all of its default thresholds (so a level can be dropped).
func parseRules(n *yaml.Node, c *Config) error {
	names := RuleNames()
	rules, err := mapping(n, "rules", names...)
	if err != nil {
		return err
	}
	for name, rn := range rules {
		k := ruleKinds[name]
		r := c.Rules[name]
		if rn.Kind == yaml.ScalarNode && (rn.Value == "off" || rn.Value == "false") {
			r.Enabled = false
			c.Rules[name] = r
			continue
		}
		allowed := []string{"info", "warning", "critical", "threshold", "severity", "for", "chains", "validators", "enabled"}
		if name == RuleWindowMissedShare {
			allowed = append(allowed, "min_heights")
		}
		keys, err := mapping(rn, "rule "+name, allowed...)
		if err != nil {
			return err
		}
		if mn := keys["min_heights"]; mn != nil {
			v, err := strconv.ParseInt(mn.Value, 10, 64)
			if mn.Kind != yaml.ScalarNode || err != nil || v < 0 {
				return lineError(mn, "rule %s: min_heights %q is not a whole number of heights (0 or more)", name, mn.Value)
			}
			r.MinHeights = v
		}
		th := map[Severity]float64{}
		// The one-threshold form: threshold (and severity, default warning).
		if tn := keys["threshold"]; tn != nil {
			for sev := Info; sev <= Critical; sev++ {
				if keys[sev.String()] != nil {
					return lineError(tn, "rule %s: give either threshold (with severity) or info/warning/critical thresholds, not both", name)
				}
			}
			sev := Warning
			if sn := keys["severity"]; sn != nil {
				if sev, err = ParseSeverity(sn.Value); err != nil {
					return lineError(sn, "rule %s: %v", name, err)
				}
			}
			if tn.Kind != yaml.ScalarNode {
				return lineError(tn, "rule %s: threshold must be a single value", name)
			}
			v, err := k.parse(tn)
			if err != nil {
				return within(err, "rule "+name+", threshold")
			}
			th[sev] = v
		} else if sn := keys["severity"]; sn != nil {
			return lineError(sn, "rule %s: severity goes with threshold; with info/warning/critical thresholds the key names the severity", name)
		}
		for sev := Info; sev <= Critical; sev++ {
			tn := keys[sev.String()]
			if tn == nil {
				continue
			}
			if tn.Kind != yaml.ScalarNode {
				return lineError(tn, "rule %s: the %s threshold must be a single value", name, sev)
			}
			v, err := k.parse(tn)
			if err != nil {
				return within(err, "rule "+name+", "+sev.String()+" threshold")
			}
			th[sev] = v
		}
		if len(th) > 0 {
			r.Thresholds = th
		}
		if err := checkOrder(name, k, r.Thresholds, rn); err != nil {
			return err
		}
		if fn := keys["for"]; fn != nil {
			d, err := duration(fn, "rule "+name+" for")
			if err != nil {
				return err
			}
			r.For = &d
		}
		if cn := keys["chains"]; cn != nil {
			if r.Chains, err = stringList(cn, "rule "+name+" chains"); err != nil {
				return err
			}
		}
		if vn := keys["validators"]; vn != nil {
			if k.chainLevel {
				return lineError(vn, "rule %s is about a chain, not a validator: remove validators", name)
			}
			if r.Validators, err = stringList(vn, "rule "+name+" validators"); err != nil {
				return err
			}
		}
		if en := keys["enabled"]; en != nil {
			var b bool
			if err := en.Decode(&b); err != nil {
				return lineError(en, "rule %s: enabled must be true or false", name)
			}
			r.Enabled = b
		}
		c.Rules[name] = r
	}
	return nil
}

// checkOrder refuses thresholds whose severities are out of order (a
// critical threshold that is less severe than the warning one).
func checkOrder(name string, k ruleKind, th map[Severity]float64, n *yaml.Node) error {
	if len(th) == 0 {
		return lineError(n, "rule %s has no threshold: give info, warning or critical, or enabled: false", name)
	}
	rank := func(v float64) float64 {
		if v == ThresholdAll {
			return math.Inf(1)
		}
		if k.lowerIsWorse {
			return -v
		}
		return v
	}
	prev, prevSev := math.Inf(-1), Severity(0)
	for sev := Info; sev <= Critical; sev++ {
		v, ok := th[sev]
		if !ok {
			continue
		}
		if rank(v) < prev {
			return lineError(n, "rule %s: the %s threshold is less severe than the %s one; order them info < warning < critical", name, sev, prevSev)
		}
		prev, prevSev = rank(v), sev
	}
	return nil
}

var channelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func parseChannel(n *yaml.Node) (Channel, []string, error) {
	keys, err := mapping(n, "a channel", "name", "type", "min_severity", "url", "url_env", "url_file",
		"token", "token_env", "token_file", "chat_id", "routing_key", "routing_key_env", "routing_key_file", "api_url", "timeout")
	if err != nil {
		return Channel{}, nil, err
	}
	ch := Channel{MinSeverity: Info, Timeout: DefaultChannelTimeout}
	str := func(key string, dst *string) error {
		if v := keys[key]; v != nil {
			s, err := scalar(v, key)
			if err != nil {
				return err
			}
			*dst = s
		}
		return nil
	}
	for key, dst := range map[string]*string{"name": &ch.Name, "type": &ch.Type, "url": &ch.URL, "url_env": &ch.URLEnv,
		"url_file": &ch.URLFile, "token": &ch.Token, "token_env": &ch.TokenEnv, "token_file": &ch.TokenFile,
		"chat_id": &ch.ChatID, "routing_key": &ch.RoutingKey, "routing_key_env": &ch.RoutingKeyEnv,
		"routing_key_file": &ch.RoutingKeyFile, "api_url": &ch.APIURL} {
		if err := str(key, dst); err != nil {
			return Channel{}, nil, err
		}
	}
	if !channelNameRE.MatchString(ch.Name) {
		return Channel{}, nil, lineError(n, "channel name %q: give each channel a name of letters, digits, '.', '_' or '-' (at most 64)", ch.Name)
	}
	if v := keys["min_severity"]; v != nil {
		if ch.MinSeverity, err = ParseSeverity(v.Value); err != nil {
			return Channel{}, nil, lineError(v, "channel %q: min_severity: %v", ch.Name, err)
		}
	}
	if v := keys["timeout"]; v != nil {
		if ch.Timeout, err = duration(v, "timeout"); err != nil {
			return Channel{}, nil, err
		}
		if ch.Timeout <= 0 {
			return Channel{}, nil, lineError(v, "channel %q: timeout must be positive", ch.Name)
		}
	}
	warns, err := ch.Check()
	if err != nil {
		return Channel{}, nil, lineError(n, "%v", err)
	}
	return ch, warns, nil
}

// Check validates the channel and that its secret can be read, returning
// warnings (a secret written in the file). The error never holds a secret.
func (ch Channel) Check() ([]string, error) {
	var warns []string
	switch ch.Type {
	case TypeWebhook, TypeDiscord, TypeSlack:
		if ch.Token+ch.TokenEnv+ch.TokenFile+ch.RoutingKey+ch.RoutingKeyEnv+ch.RoutingKeyFile+ch.ChatID != "" {
			return nil, fmt.Errorf("channel %q: a %s channel takes url, url_env or url_file only", ch.Name, ch.Type)
		}
		if ch.URL != "" {
			warns = append(warns, fmt.Sprintf("channel %q: the url is written in the alerts file; prefer url_env or url_file to keep it secret", ch.Name))
		}
	case TypeTelegram:
		if ch.ChatID == "" {
			return nil, fmt.Errorf("channel %q: a telegram channel needs chat_id", ch.Name)
		}
		if ch.Token != "" {
			warns = append(warns, fmt.Sprintf("channel %q: the bot token is written in the alerts file; prefer token_env or token_file", ch.Name))
		}
	case TypePagerDuty:
		if ch.RoutingKey != "" {
			warns = append(warns, fmt.Sprintf("channel %q: the routing key is written in the alerts file; prefer routing_key_env or routing_key_file", ch.Name))
		}
	case "":
		return nil, fmt.Errorf("channel %q has no type: use webhook, discord, slack, telegram or pagerduty", ch.Name)
	default:
		return nil, fmt.Errorf("channel %q: unknown type %q: use webhook, discord, slack, telegram or pagerduty", ch.Name, ch.Type)
	}
	if ch.Type != TypeTelegram && ch.Token+ch.TokenEnv+ch.TokenFile != "" || ch.Type != TypePagerDuty && ch.RoutingKey+ch.RoutingKeyEnv+ch.RoutingKeyFile != "" ||
		(ch.Type == TypeTelegram || ch.Type == TypePagerDuty) && ch.URL+ch.URLEnv+ch.URLFile != "" {
		return nil, fmt.Errorf("channel %q: a %s channel does not take that secret; see the channel keys of its type", ch.Name, ch.Type)
	}
	if ch.APIURL != "" {
		if ch.Type != TypeTelegram && ch.Type != TypePagerDuty {
			return nil, fmt.Errorf("channel %q: api_url applies to telegram and pagerduty channels only", ch.Name)
		}
		if err := checkHTTPURL(ch.APIURL); err != nil {
			return nil, fmt.Errorf("channel %q: api_url %q: %v", ch.Name, ch.APIURL, err)
		}
	}
	if ch.MinSeverity == 0 {
		return nil, fmt.Errorf("channel %q: no min_severity", ch.Name)
	}
	if _, err := ch.secret(); err != nil {
		return nil, err
	}
	return warns, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	return nil
}

// secret reads the channel's secret: the URL of a webhook, Discord or
// Slack channel, the bot token of Telegram, the routing key of PagerDuty.
func (ch Channel) secret() (string, error) {
	var what, lit, env, file string
	switch ch.Type {
	case TypeTelegram:
		what, lit, env, file = "token", ch.Token, ch.TokenEnv, ch.TokenFile
	case TypePagerDuty:
		what, lit, env, file = "routing_key", ch.RoutingKey, ch.RoutingKeyEnv, ch.RoutingKeyFile
	default:
		what, lit, env, file = "url", ch.URL, ch.URLEnv, ch.URLFile
	}
	set := 0
	for _, s := range []string{lit, env, file} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return "", fmt.Errorf("channel %q: give exactly one of %s_env, %s_file or %s", ch.Name, what, what, what)
	}
	v := lit
	switch {
	case env != "":
		v = strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("channel %q: %s_env names %s, which is not set or empty; export it before starting valtrack", ch.Name, what, env)
		}
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("channel %q: %s_file: %w; check the path and its permissions", ch.Name, what, err)
		}
		if v = strings.TrimSpace(string(b)); v == "" {
			return "", fmt.Errorf("channel %q: %s_file %s is empty", ch.Name, what, file)
		}
	}
	if what == "url" {
		if err := checkHTTPURL(v); err != nil {
			return "", fmt.Errorf("channel %q: the %s is %v (its value is not shown: it is a secret)", ch.Name, what, err)
		}
	} else if strings.ContainsAny(v, "/?# \t\r\n") {
		return "", fmt.Errorf("channel %q: the %s holds characters a %s cannot have (its value is not shown: it is a secret)", ch.Name, what, what)
	}
	return v, nil
}

// String names the channel without its secret, so that printing a Config
// never shows one.
func (ch Channel) String() string {
	return fmt.Sprintf("channel %s (%s, min_severity %s)", ch.Name, ch.Type, ch.MinSeverity)
}

// GoString is String: %#v must not show the secret either.
func (ch Channel) GoString() string { return ch.String() }

// LogValue logs the channel without its secret.
func (ch Channel) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", ch.Name), slog.String("type", ch.Type), slog.String("min_severity", ch.MinSeverity.String()))
}
