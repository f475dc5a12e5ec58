package safe

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestURLSecretsAndScrub(t *testing.T) {
	raw := "https://user:hunter22@rpc.example/v2/abcdefghijklmnopqrstuvwxyz?apikey=s3cr3tkey&x=1"
	secrets := URLSecrets(raw)
	for _, want := range []string{"user", "hunter22", "abcdefghijklmnopqrstuvwxyz", "s3cr3tkey"} {
		found := false
		for _, s := range secrets {
			found = found || s == want
		}
		if !found {
			t.Errorf("%q not among the secrets %q", want, secrets)
		}
	}
	for _, s := range secrets {
		if len(s) < 4 {
			t.Errorf("short part %q kept: it would mangle messages", s)
		}
	}
	err := Scrub(errors.Join(io.EOF, errors.New("dial "+raw+": refused")), secrets)
	if msg := err.Error(); strings.Contains(msg, "hunter22") || strings.Contains(msg, "s3cr3tkey") || !strings.Contains(msg, "rpc.example") {
		t.Errorf("scrubbed %q", msg)
	}
	if !errors.Is(err, io.EOF) {
		t.Error("errors.Is lost through Scrub")
	}
	plain := errors.New("no secret here")
	if Scrub(plain, secrets) != plain || Scrub(nil, secrets) != nil {
		t.Error("an error without secrets was rewrapped")
	}
	if got := URLSecrets("::not a url"); len(got) != 1 || got[0] != "::not a url" {
		t.Errorf("unparsable URL: %q", got)
	}
}
