package safe

import (
	"net/url"
	"strings"
)

// URLSecrets are the parts of a URL that may be credentials: user,
// password, the query and its values, and path segments longer than 16
// characters (API keys in paths). Parts under 4 characters are left out
// (replacing them would mangle the rest of a message). An unparsable URL
// is a secret as a whole. Every domain that logs an endpoint's errors
// scrubs these out of them (Scrub).
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	var out []string
	if u.User != nil {
		out = append(out, u.User.Username())
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery)
		for _, vs := range u.Query() {
			out = append(out, vs...)
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if len(seg) > 16 {
			out = append(out, seg)
		}
	}
	keep := out[:0]
	for _, s := range out {
		if len(s) >= 4 {
			keep = append(keep, s)
		}
	}
	return keep
}

// Scrub replaces every secret in err's text with "redacted", keeping
// errors.Is and errors.As working through the result; err itself when
// its text holds none.
func Scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "redacted"), true
		}
	}
	if !changed {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
