package state_test

import (
	"context"
	"slices"
	"testing"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Both dialects take the migrations; an empty registry reads as empty.
func TestMigrationsAndEmptyReader(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t, store.WithMigrations(state.Migrations()))
			r := state.New(db)
			if nets, err := r.Networks(ctx); err != nil || len(nets) != 0 {
				t.Errorf("networks: %v, %v", nets, err)
			}
			if ops, err := r.Operators(ctx, "x", 0, 0, 0); err != nil || ops == nil || len(ops) != 0 {
				t.Errorf("operators: %v, %v", ops, err)
			}
			if vs, err := r.Validators(ctx, "x", registry.ValidatorFilter{Owners: []string{"nonsense"}, Clusters: [][]uint64{{1, 2, 3, 4}}}); err != nil || len(vs) != 0 {
				t.Errorf("validators: %v, %v", vs, err)
			}
			if o, err := r.Owner(ctx, "x", "0x0000000000000000000000000000000000000001"); o != nil || err != nil {
				t.Errorf("owner: %v, %v", o, err)
			}
			if s, err := r.Sync(ctx, "x"); s != nil || err != nil {
				t.Errorf("sync: %v, %v", s, err)
			}
			if c, err := r.Counts(ctx, "x"); err != nil || c.Validators != 0 || c.ByStatus == nil {
				t.Errorf("counts: %+v, %v", c, err)
			}
			if seq, err := r.LastChange(ctx, "x"); seq != 0 || err != nil {
				t.Errorf("last change: %d, %v", seq, err)
			}
		})
	}
}

func TestIDLists(t *testing.T) {
	if got := state.JoinIDs([]uint64{13, 2, 7, 1}); got != "1,2,7,13" {
		t.Errorf("JoinIDs: %q", got)
	}
	got, err := state.SplitIDs("1,2,7,13")
	if err != nil || !slices.Equal(got, []uint64{1, 2, 7, 13}) {
		t.Errorf("SplitIDs: %v, %v", got, err)
	}
	if _, err := state.SplitIDs("1,x"); err == nil {
		t.Error("SplitIDs accepted 1,x")
	}
	if state.NormalAddress("0xabcdefabcdefabcdefabcdefabcdefabcdefabcd") != "0xABcdEFABcdEFabcdEfAbCdefabcdeFABcDEFabCD" {
		t.Errorf("NormalAddress: %s", state.NormalAddress("0xabcdefabcdefabcdefabcdefabcdefabcdefabcd"))
	}
	if state.NormalKey("ABCD") != "0xabcd" {
		t.Errorf("NormalKey: %s", state.NormalKey("ABCD"))
	}
}
