package main

import (
	"github.com/valtrack/valtrack/internal/cosmos"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ethereum"
	"github.com/valtrack/valtrack/internal/polkadot"
	"github.com/valtrack/valtrack/internal/ssv"
	"github.com/valtrack/valtrack/internal/store"
)

// registry is the list of domains this binary runs, in order: the first is
// the default of `valtrack run` when no network is chosen.
type registry []domain.Domain

// domains registers every domain. Adding one is a line here (docs/domains.md).
func domains() registry {
	return registry{
		ethereum.Domain{Env: env, Logger: logger},
		cosmos.Domain{Env: env},
		ssv.Domain{Env: env},
		polkadot.Domain{Env: env},
	}
}

func (r registry) names() []string {
	out := make([]string, 0, len(r))
	for _, d := range r {
		out = append(out, d.Name())
	}
	return out
}

func (r registry) get(name string) domain.Domain {
	for _, d := range r {
		if d.Name() == name {
			return d
		}
	}
	return nil
}

// migrations are every domain's: one database holds them all, whichever
// domains a process runs, so `valtrack db status` lists everything.
func (r registry) migrations() []store.Migrations {
	out := make([]store.Migrations, 0, len(r))
	for _, d := range r {
		out = append(out, d.Migrations())
	}
	return out
}
