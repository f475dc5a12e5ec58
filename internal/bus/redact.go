package bus

import (
	"net/url"
	"strings"
)

// RedactURL returns a NATS URL (or comma-separated list) fit for logs: any
// user information is replaced, because with token authentication the "user"
// is itself the secret. Unparseable entries are replaced whole.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, ",")
	for i, part := range parts {
		parts[i] = redactOne(strings.TrimSpace(part))
	}
	return strings.Join(parts, ",")
}

func redactOne(part string) string {
	u, err := url.Parse(part)
	if err != nil {
		// Could hold a credential we failed to locate; say nothing of it.
		return "<unparseable-url>"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	// Query strings may carry tokens; paths are meaningless to NATS.
	u.RawQuery = ""
	u.Fragment = ""
	u.ForceQuery = false
	if u.Opaque != "" {
		return "<unparseable-url>"
	}
	return u.String()
}

// secretsOf returns the credential strings of a URL list so that error
// messages produced by the client library can be scrubbed of them.
func secretsOf(raw string) []string {
	var out []string
	for part := range strings.SplitSeq(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.User == nil {
			continue
		}
		if name := u.User.Username(); name != "" {
			out = append(out, name)
		}
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// scrubbedError hides credentials that a wrapped error's text might quote,
// while keeping errors.Is/As working on the original.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func scrub(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "redacted")
	}
	return &scrubbedError{msg: msg, err: err}
}
