package domain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/store"
)

// plain is a domain without Check.
type plain struct{ name string }

func (p plain) Name() string                 { return p.name }
func (p plain) Usage() string                { return "" }
func (p plain) Flags(domain.Role) []cli.Flag { return nil }
func (p plain) Migrations() store.Migrations { return store.Migrations{Domain: p.name} }
func (p plain) Selected(*cli.Command) bool   { return false }
func (p plain) SelectWith() string           { return "--" + p.name + " NAME" }
func (p plain) Open(context.Context, domain.Env) (*domain.Parts, error) {
	return nil, errors.New("not opened in this test")
}

// checking is a domain whose Check refuses what err says, recording the
// role it was asked about.
type checking struct {
	plain
	err   error
	roles *[]domain.Role
}

func (c checking) Check(_ *cli.Command, r domain.Role) error {
	*c.roles = append(*c.roles, r)
	return c.err
}

// TestCheckFlags: every domain with a Check is asked (for the role given),
// one without is skipped, and the first refusal names its domain.
func TestCheckFlags(t *testing.T) {
	var roles []domain.Role
	ok := checking{plain{"first"}, nil, &roles}
	bad := checking{plain{"second"}, errors.New("--second-thing 7: give 1..5"), &roles}
	cmd := &cli.Command{}
	if err := domain.CheckFlags(cmd, domain.RoleConsumer, []domain.Domain{plain{"none"}, ok}); err != nil {
		t.Fatalf("accepted flags refused: %v", err)
	}
	err := domain.CheckFlags(cmd, domain.RoleSentry, []domain.Domain{ok, plain{"none"}, bad})
	if err == nil || !strings.HasPrefix(err.Error(), "second: --second-thing 7") {
		t.Fatalf("err = %v, want second's refusal named by its domain", err)
	}
	want := []domain.Role{domain.RoleConsumer, domain.RoleSentry, domain.RoleSentry}
	if len(roles) != len(want) {
		t.Fatalf("Check called for roles %v, want %v", roles, want)
	}
	for i := range want {
		if roles[i] != want[i] {
			t.Fatalf("Check called for roles %v, want %v", roles, want)
		}
	}
}
