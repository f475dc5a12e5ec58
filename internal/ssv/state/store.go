package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/store"
)

// MaxFilterValues bounds each list of a ValidatorFilter.
const MaxFilterValues = 1000

// Store reads the registry from the ssv_* tables.
type Store struct {
	db *store.DB
}

var _ registry.Reader = (*Store)(nil)

// New returns the Store over db (migrated with Migrations).
func New(db *store.DB) *Store { return &Store{db: db} }

// NormalAddress is an address as the tables hold it (EIP-55); a string that
// is no address comes back unchanged (and matches nothing).
func NormalAddress(s string) string {
	if common.IsHexAddress(s) {
		return common.HexToAddress(s).Hex()
	}
	return s
}

// NormalKey is a validator public key as the tables hold it: lower-case
// 0x-hex.
func NormalKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "0x") {
		s = "0x" + s
	}
	return s
}

func (s *Store) query(ctx context.Context, op string, q *store.Query) (*sql.Rows, error) {
	rows, err := s.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", op, s.db.Where(), s.db.Scrub(err))
	}
	return rows, nil
}

// Networks lists the networks with registry data.
func (s *Store) Networks(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, "list ssv networks", s.db.Query().SQL("SELECT network FROM ssv_networks ORDER BY network"))
	if err != nil {
		return nil, err
	}
	return store.ScanStrings(rows, "list ssv networks")
}

const operatorCols = `o.id, o.owner, o.public_key, o.fee, o.pending_fee, o.pending_fee_block, o.private,
	o.whitelisting_contract, o.removed, o.added_block, o.updated_block,
	(SELECT COUNT(*) FROM ssv_validator_operators vo JOIN ssv_validators v ON v.network = vo.network AND v.idx = vo.validator_idx
	 WHERE vo.network = o.network AND vo.operator_id = o.id AND v.status <> 'removed' AND NOT v.liquidated)`

// Operators lists operators with fromID <= id <= toID (toID 0: no upper
// bound), by id.
func (s *Store) Operators(ctx context.Context, network string, fromID, toID uint64, lim int) ([]registry.Operator, error) {
	q := s.db.Query().SQL("SELECT ", operatorCols, " FROM ssv_operators o WHERE o.network = ").Arg(network)
	if fromID > 0 {
		q.SQL(" AND o.id >= ").Arg(store.U64(fromID))
	}
	if toID > 0 {
		q.SQL(" AND o.id <= ").Arg(store.U64(toID))
	}
	q.SQL(" ORDER BY o.id LIMIT ").Arg(limit(lim))
	return s.operators(ctx, network, q)
}

// Operator returns one operator, nil when unknown.
func (s *Store) Operator(ctx context.Context, network string, id uint64) (*registry.Operator, error) {
	q := s.db.Query().SQL("SELECT ", operatorCols, " FROM ssv_operators o WHERE o.network = ").Arg(network).SQL(" AND o.id = ").Arg(store.U64(id))
	ops, err := s.operators(ctx, network, q)
	if err != nil || len(ops) == 0 {
		return nil, err
	}
	return &ops[0], nil
}

// OperatorsByKey returns the operators with public key publicKey (exact:
// base64 is case-sensitive), by id. Operators are a few thousand a
// network, so the network's rows are scanned rather than indexed.
func (s *Store) OperatorsByKey(ctx context.Context, network, publicKey string, lim int) ([]registry.Operator, error) {
	q := s.db.Query().SQL("SELECT ", operatorCols, " FROM ssv_operators o WHERE o.network = ").Arg(network).
		SQL(" AND o.public_key = ").Arg(publicKey).SQL(" ORDER BY o.id LIMIT ").Arg(limit(lim))
	return s.operators(ctx, network, q)
}

func (s *Store) operators(ctx context.Context, network string, q *store.Query) ([]registry.Operator, error) {
	const op = "read ssv operators"
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Operator{}
	for rows.Next() {
		var o registry.Operator
		if err := rows.Scan(store.U64Into(&o.ID), &o.Owner, &o.PublicKey, &o.Fee, &o.PendingFee, store.U64Into(&o.PendingFeeBlock),
			&o.Private, &o.WhitelistingContract, &o.Removed, store.U64Into(&o.AddedBlock), store.U64Into(&o.UpdatedBlock), &o.ValidatorCount); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// Whitelists of the listed id range, in one query.
	wq := s.db.Query().SQL("SELECT operator_id, address FROM ssv_operator_whitelist WHERE network = ").Arg(network).
		SQL(" AND operator_id >= ").Arg(store.U64(out[0].ID)).SQL(" AND operator_id <= ").Arg(store.U64(out[len(out)-1].ID)).
		SQL(" ORDER BY operator_id, address")
	wrows, err := s.query(ctx, "read ssv operator whitelists", wq)
	if err != nil {
		return nil, err
	}
	defer wrows.Close()
	byID := make(map[uint64]int, len(out))
	for i := range out {
		byID[out[i].ID] = i
	}
	for wrows.Next() {
		var id uint64
		var a string
		if err := wrows.Scan(store.U64Into(&id), &a); err != nil {
			return nil, fmt.Errorf("read ssv operator whitelists: %w", err)
		}
		if i, ok := byID[id]; ok {
			out[i].Whitelisted = append(out[i].Whitelisted, a)
		}
	}
	if err := wrows.Err(); err != nil {
		return nil, fmt.Errorf("read ssv operator whitelists: %w", err)
	}
	return out, nil
}

const validatorCols = "v.idx, v.public_key, v.owner, v.operator_ids, v.cluster_id, v.status, v.liquidated, v.added_block, v.updated_block, " +
	"b.beacon_index, b.status, b.balance_gwei, b.slashed, b.activation_epoch, b.exit_epoch, b.updated_at"

// validatorsFrom joins each registration with its key's beacon state, if
// any.
const validatorsFrom = " FROM ssv_validators v LEFT JOIN ssv_beacon_validators b ON b.network = v.network AND b.public_key = v.public_key"

func inList[T any](q *store.Query, vals []T, conv func(T) any) {
	q.SQL(" IN (")
	for i, v := range vals {
		if i > 0 {
			q.SQL(", ")
		}
		q.Arg(conv(v))
	}
	q.SQL(")")
}

func asIs[T any](v T) any { return v }

// Validators lists the validators f selects, by index.
func (s *Store) Validators(ctx context.Context, network string, f registry.ValidatorFilter) ([]registry.Validator, error) {
	for what, n := range map[string]int{"owners": len(f.Owners), "operators": len(f.Operators), "clusters": len(f.Clusters), "cluster ids": len(f.ClusterIDs),
		"subclusters": len(f.Subclusters), "public keys": len(f.PublicKeys), "indices": len(f.Indices), "beacon indices": len(f.BeaconIndices)} {
		if n > MaxFilterValues {
			return nil, fmt.Errorf("validator filter has %d %s, at most %d", n, what, MaxFilterValues)
		}
	}
	q := s.db.Query().SQL("SELECT ", validatorCols, validatorsFrom, " WHERE v.network = ").Arg(network)
	if len(f.Owners) > 0 {
		q.SQL(" AND v.owner")
		inList(q, f.Owners, func(a string) any { return NormalAddress(a) })
	}
	if len(f.Operators) > 0 {
		q.SQL(" AND v.idx IN (SELECT validator_idx FROM ssv_validator_operators WHERE network = ").Arg(network).SQL(" AND operator_id")
		inList(q, f.Operators, func(id uint64) any { return store.U64(id) })
		q.SQL(")")
	}
	if len(f.Clusters) > 0 {
		q.SQL(" AND v.operator_ids")
		inList(q, f.Clusters, func(ids []uint64) any { return JoinIDs(ids) })
	}
	if len(f.ClusterIDs) > 0 {
		q.SQL(" AND v.cluster_id")
		inList(q, f.ClusterIDs, func(id string) any { return strings.ToLower(id) })
	}
	if len(f.Subclusters) > 0 {
		// A validator has each of its operators once: it holds a whole
		// subcluster when it has as many of its operators as the subcluster
		// has distinct ids.
		q.SQL(" AND (")
		for i, sc := range f.Subclusters {
			if i > 0 {
				q.SQL(" OR ")
			}
			sc = slices.Compact(slices.Sorted(slices.Values(sc)))
			q.SQL("v.idx IN (SELECT validator_idx FROM ssv_validator_operators WHERE network = ").Arg(network).SQL(" AND operator_id")
			inList(q, sc, func(id uint64) any { return store.U64(id) })
			q.SQL(" GROUP BY validator_idx HAVING COUNT(*) = ").Arg(len(sc)).SQL(")")
		}
		q.SQL(")")
	}
	if len(f.PublicKeys) > 0 {
		q.SQL(" AND v.public_key")
		inList(q, f.PublicKeys, func(k string) any { return NormalKey(k) })
	}
	if len(f.Indices) > 0 {
		q.SQL(" AND v.idx")
		inList(q, f.Indices, func(i uint64) any { return store.U64(i) })
	}
	if len(f.BeaconIndices) > 0 {
		q.SQL(" AND b.beacon_index")
		inList(q, f.BeaconIndices, func(i uint64) any { return store.U64(i) })
	}
	if f.Status != "" {
		q.SQL(" AND v.status = ").Arg(f.Status)
	}
	if f.NotRemoved {
		q.SQL(" AND v.status <> ").Arg(registry.StatusRemoved)
	}
	if f.FromIndex > 0 {
		q.SQL(" AND v.idx >= ").Arg(store.U64(f.FromIndex))
	}
	if f.ToIndex > 0 {
		q.SQL(" AND v.idx <= ").Arg(store.U64(f.ToIndex))
	}
	if len(f.Owners) > 1 {
		// No index yields index order for a list of owners, and without
		// statistics SQLite then walks ssv_validators_idx for the order and
		// tests every row's owner (tens of ms at 150,000 validators). The
		// unary plus makes the order an expression no index gives, so it
		// looks the owners up in (network, owner, idx) and sorts what they
		// hold. One owner keeps index order from that index.
		q.SQL(" ORDER BY +v.idx LIMIT ").Arg(limit(f.Limit))
	} else {
		q.SQL(" ORDER BY v.idx LIMIT ").Arg(limit(f.Limit))
	}
	return s.validators(ctx, q)
}

// ValidatorsByKey returns every registration of a public key.
func (s *Store) ValidatorsByKey(ctx context.Context, network, publicKey string) ([]registry.Validator, error) {
	q := s.db.Query().SQL("SELECT ", validatorCols, validatorsFrom, " WHERE v.network = ").Arg(network).
		SQL(" AND v.public_key = ").Arg(NormalKey(publicKey)).SQL(" ORDER BY v.idx")
	return s.validators(ctx, q)
}

func (s *Store) validators(ctx context.Context, q *store.Query) ([]registry.Validator, error) {
	const op = "read ssv validators"
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Validator{}
	for rows.Next() {
		var v registry.Validator
		var ids string
		var b registry.Beacon
		var bStatus sql.NullString
		var bSlashed sql.NullBool
		var bAt sql.NullInt64
		if err := rows.Scan(store.U64Into(&v.Index), &v.PublicKey, &v.Owner, &ids, &v.ClusterID, &v.Status, &v.Liquidated,
			store.U64Into(&v.AddedBlock), store.U64Into(&v.UpdatedBlock),
			store.U64Into(&b.Index), &bStatus, store.U64Into(&b.Balance), &bSlashed, store.U64Into(&b.ActivationEpoch),
			store.U64Into(&b.ExitEpoch), &bAt); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if bAt.Valid {
			b.Status, b.Slashed, b.UpdatedAt = bStatus.String, bSlashed.Bool, time.UnixMilli(bAt.Int64).UTC()
			v.Beacon = &b
		}
		if v.OperatorIDs, err = SplitIDs(ids); err != nil {
			return nil, fmt.Errorf("%s: validator %d: %w", op, v.Index, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// Clusters lists clusters by id, of one owner or (f.Owner "") all, after
// f.After.
func (s *Store) Clusters(ctx context.Context, network string, f registry.ClusterFilter) ([]registry.Cluster, error) {
	const op = "read ssv clusters"
	q := s.db.Query().SQL(`SELECT id, owner, operator_ids, validator_count, network_fee_index, idx, active, balance, fee_token, updated_block
		FROM ssv_clusters WHERE network = `).Arg(network)
	if f.Owner != "" {
		q.SQL(" AND owner = ").Arg(NormalAddress(f.Owner))
	}
	if f.After != "" {
		q.SQL(" AND id > ").Arg(f.After)
	}
	q.SQL(" ORDER BY id LIMIT ").Arg(limit(f.Limit))
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Cluster{}
	for rows.Next() {
		var c registry.Cluster
		var ids string
		var count uint64
		if err := rows.Scan(&c.ID, &c.Owner, &ids, store.U64Into(&count), store.U64Into(&c.NetworkFeeIndex), store.U64Into(&c.Index),
			&c.Active, &c.Balance, &c.FeeToken, store.U64Into(&c.UpdatedBlock)); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c.ValidatorCount = uint32(count)
		if c.OperatorIDs, err = SplitIDs(ids); err != nil {
			return nil, fmt.Errorf("%s: cluster %s: %w", op, c.ID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// Owner returns an owner, nil when unknown.
func (s *Store) Owner(ctx context.Context, network, address string) (*registry.Owner, error) {
	o := registry.Owner{}
	err := s.db.Reader().QueryRowContext(ctx, s.db.Query().SQL("SELECT address, nonce, fee_recipient FROM ssv_owners WHERE network = ").
		Arg(network).SQL(" AND address = ").Arg(NormalAddress(address)).String(), network, NormalAddress(address)).
		Scan(&o.Address, store.U64Into(&o.Nonce), &o.FeeRecipient)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ssv owner %s in %s: %w", address, s.db.Where(), s.db.Scrub(err))
	}
	return &o, nil
}

// Invalid lists the refused registrations, newest first, before
// f.BeforeBlock and f.BeforeLogIndex when set.
func (s *Store) Invalid(ctx context.Context, network string, f registry.InvalidFilter) ([]registry.Invalid, error) {
	const op = "read ssv invalid registrations"
	q := s.db.Query().SQL(`SELECT block, log_index, tx_hash, owner, public_key, operator_ids, nonce, reason
		FROM ssv_invalid WHERE network = `).Arg(network)
	newestBefore(q, f)
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Invalid{}
	for rows.Next() {
		var v registry.Invalid
		var ids string
		var li uint64
		if err := rows.Scan(store.U64Into(&v.Block), store.U64Into(&li), &v.TxHash, &v.Owner, &v.PublicKey, &ids, store.U64Into(&v.Nonce), &v.Reason); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		v.LogIndex = uint(li)
		if v.Operators, err = SplitIDs(ids); err != nil {
			// ids of a refused registration may be anything the event held
			v.Operators = nil
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// newestBefore ends a query of a table keyed by (network, block,
// log_index): the rows before f's place in the chain, newest first, at
// most f.Limit.
func newestBefore(q *store.Query, f registry.InvalidFilter) {
	if f.BeforeBlock > 0 {
		b := store.U64(f.BeforeBlock)
		q.SQL(" AND (block < ").Arg(b).SQL(" OR (block = ").Arg(b).SQL(" AND log_index < ").Arg(store.U64(uint64(f.BeforeLogIndex))).SQL("))")
	}
	q.SQL(" ORDER BY block DESC, log_index DESC LIMIT ").Arg(limit(f.Limit))
}

// Skipped lists the contract logs the sentry could not decode, newest
// first, before f.BeforeBlock and f.BeforeLogIndex when set.
func (s *Store) Skipped(ctx context.Context, network string, f registry.SkippedFilter) ([]registry.Skipped, error) {
	const op = "read ssv skipped logs"
	q := s.db.Query().SQL(`SELECT block, log_index, block_hash, tx_hash, topic0, reason, data, data_len
		FROM ssv_skipped WHERE network = `).Arg(network)
	newestBefore(q, f)
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Skipped{}
	for rows.Next() {
		var v registry.Skipped
		var li uint64
		if err := rows.Scan(store.U64Into(&v.Block), store.U64Into(&li), &v.BlockHash, &v.TxHash, &v.Topic0, &v.Reason, &v.Data, store.U64Into(&v.DataLen)); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		v.LogIndex = uint(li)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// Sync says how far the registry of a network is; nil when nothing is
// synced and no status arrived.
func (s *Store) Sync(ctx context.Context, network string) (*registry.Sync, error) {
	out := registry.Sync{Network: network, Endpoints: []registry.Endpoint{}}
	found := false
	err := s.db.Reader().QueryRowContext(ctx, s.db.Query().SQL("SELECT reorgs, skipped_logs, contract_version, v2_block FROM ssv_networks WHERE network = ").Arg(network).String(), network).
		Scan(store.U64Into(&out.Reorgs), store.U64Into(&out.SkippedLogs), &out.ContractVersion, store.U64Into(&out.V2Block))
	switch {
	case err == nil:
		found = true
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read ssv sync of %s in %s: %w", network, s.db.Where(), s.db.Scrub(err))
	}
	var t int64
	err = s.db.Reader().QueryRowContext(ctx, s.db.Query().SQL("SELECT number, hash, time FROM ssv_blocks WHERE network = ").Arg(network).
		SQL(" ORDER BY number DESC LIMIT 1").String(), network).Scan(store.U64Into(&out.LastBlock), &out.LastBlockHash, &t)
	switch {
	case err == nil:
		found = true
		out.LastBlockTime = time.UnixMilli(t).UTC()
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read ssv last block of %s in %s: %w", network, s.db.Where(), s.db.Scrub(err))
	}
	var endpoints string
	var at int64
	err = s.db.Reader().QueryRowContext(ctx, s.db.Query().SQL("SELECT contract, mode, head, endpoints, status_at FROM ssv_sync WHERE network = ").Arg(network).String(), network).
		Scan(&out.Contract, &out.Mode, store.U64Into(&out.Head), &endpoints, &at)
	switch {
	case err == nil:
		found = true
		out.StatusAt = time.UnixMilli(at).UTC()
		if err := json.Unmarshal([]byte(endpoints), &out.Endpoints); err != nil {
			return nil, fmt.Errorf("read ssv sync of %s: endpoints: %w", network, err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read ssv sync status of %s in %s: %w", network, s.db.Where(), s.db.Scrub(err))
	}
	var held registry.Held
	var since int64
	var marker string
	err = s.db.Reader().QueryRowContext(ctx, s.db.Query().SQL("SELECT number, hash, announced, received, held_at, marker, (SELECT COUNT(*) FROM ssv_held WHERE network = ").Arg(network).
		SQL(") FROM ssv_held WHERE network = ").Arg(network).SQL(" ORDER BY number, hash LIMIT 1").String(), network, network).
		Scan(store.U64Into(&held.Block), &held.Hash, &held.Announced, &held.Received, &since, &marker, &held.Blocks)
	switch {
	case err == nil:
		found = true
		held.Since = time.UnixMilli(since).UTC()
		// Held for a gap exactly when the sink would find one now: the
		// marker's previous marker past the last applied block (the same
		// read as the sink's, so /sync and the sink agree).
		var mk struct {
			PrevMarker *uint64 `json:"prev_marker"`
		}
		if json.Unmarshal([]byte(marker), &mk) == nil && mk.PrevMarker != nil {
			applied := out.LastBlockHash != ""
			if !applied || *mk.PrevMarker > out.LastBlock {
				held.Gap = &registry.Gap{To: *mk.PrevMarker}
				if applied {
					held.Gap.From = out.LastBlock + 1
				}
			}
		}
		out.Held = &held
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read ssv held blocks of %s in %s: %w", network, s.db.Where(), s.db.Scrub(err))
	}
	if !found {
		return nil, nil
	}
	return &out, nil
}

// Counts summarises a network's registry.
func (s *Store) Counts(ctx context.Context, network string) (registry.Counts, error) {
	c := registry.Counts{ByStatus: map[string]int{}, ClusterSizes: map[int]int{}}
	fail := func(what string, err error) (registry.Counts, error) {
		return registry.Counts{}, fmt.Errorf("count ssv %s of %s in %s: %w", what, network, s.db.Where(), s.db.Scrub(err))
	}
	r := s.db.Reader()
	q := s.db.Query().SQL("SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN removed THEN 1 ELSE 0 END), 0) AS BIGINT) FROM ssv_operators WHERE network = ").Arg(network)
	if err := r.QueryRowContext(ctx, q.String(), q.Args()...).Scan(&c.Operators, &c.OperatorsRemoved); err != nil {
		return fail("operators", err)
	}
	q = s.db.Query().SQL("SELECT status, COUNT(*) FROM ssv_validators WHERE network = ").Arg(network).SQL(" GROUP BY status")
	rows, err := r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fail("validators", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return fail("validators", err)
		}
		c.ByStatus[st] = n
		c.Validators += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("validators", err)
	}
	q = s.db.Query().SQL("SELECT operator_ids, active FROM ssv_clusters WHERE network = ").Arg(network)
	rows, err = r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fail("clusters", err)
	}
	for rows.Next() {
		var ids string
		var active bool
		if err := rows.Scan(&ids, &active); err != nil {
			rows.Close()
			return fail("clusters", err)
		}
		c.Clusters++
		if !active {
			c.ClustersLiquidated++
		}
		c.ClusterSizes[strings.Count(ids, ",")+1]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("clusters", err)
	}
	q = s.db.Query().SQL("SELECT COUNT(*) FROM ssv_invalid WHERE network = ").Arg(network)
	if err := r.QueryRowContext(ctx, q.String(), q.Args()...).Scan(&c.Invalid); err != nil {
		return fail("invalid registrations", err)
	}
	return c, nil
}

// ChangesAfter returns changes with seq > after, at most lim.
func (s *Store) ChangesAfter(ctx context.Context, network string, after uint64, lim int) ([]registry.Change, error) {
	const op = "read ssv changes"
	q := s.db.Query().SQL("SELECT seq, kind, id FROM ssv_changes WHERE network = ").Arg(network).SQL(" AND seq > ").Arg(store.U64(after)).
		SQL(" ORDER BY seq LIMIT ").Arg(limit(lim))
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Change{}
	for rows.Next() {
		var c registry.Change
		if err := rows.Scan(store.U64Into(&c.Seq), &c.Kind, store.U64Into(&c.ID)); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// LastChange is the seq of the latest change (0: none).
func (s *Store) LastChange(ctx context.Context, network string) (uint64, error) {
	var seq uint64
	q := s.db.Query().SQL("SELECT COALESCE(MAX(seq), 0) FROM ssv_changes WHERE network = ").Arg(network)
	if err := s.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(store.U64Into(&seq)); err != nil {
		return 0, fmt.Errorf("read ssv last change of %s in %s: %w", network, s.db.Where(), s.db.Scrub(err))
	}
	return seq, nil
}

// BeaconKeys lists the distinct public keys of the network's validators
// that are not removed, in order, after after ("" from the first), at
// most limit: what the beacon analyzer asks a beacon node about.
func (s *Store) BeaconKeys(ctx context.Context, network, after string, lim int) ([]string, error) {
	const op = "list ssv validator keys"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT DISTINCT public_key FROM ssv_validators WHERE network = ").Arg(network).
		SQL(" AND status <> ").Arg(registry.StatusRemoved).SQL(" AND public_key > ").Arg(after).
		SQL(" ORDER BY public_key LIMIT ").Arg(limit(lim)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// PutBeacon stores the beacon-chain states of public keys (lower-case
// 0x-hex), replacing what was stored for them.
func (s *Store) PutBeacon(ctx context.Context, network string, states map[string]registry.Beacon) error {
	if len(states) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(states))
	for k, b := range states {
		rows = append(rows, []any{network, NormalKey(k), store.U64(b.Index), b.Status, store.U64(b.Balance), b.Slashed,
			store.U64(b.ActivationEpoch), store.U64(b.ExitEpoch), b.UpdatedAt.UnixMilli()})
	}
	ins := store.Insert{Table: "ssv_beacon_validators",
		Cols: []string{"network", "public_key", "beacon_index", "status", "balance_gwei", "slashed", "activation_epoch", "exit_epoch", "updated_at"},
		Suffix: " ON CONFLICT (network, public_key) DO UPDATE SET beacon_index = excluded.beacon_index, status = excluded.status, " +
			"balance_gwei = excluded.balance_gwei, slashed = excluded.slashed, activation_epoch = excluded.activation_epoch, " +
			"exit_epoch = excluded.exit_epoch, updated_at = excluded.updated_at"}
	return s.db.InTx(ctx, "store ssv beacon states", func(tx *sql.Tx) error { return s.db.InsertRows(ctx, tx, ins, rows) })
}

// PruneBeacon deletes the beacon-chain states not written since before:
// keys removed from the registry, or no longer known to the beacon node,
// after a complete pass.
func (s *Store) PruneBeacon(ctx context.Context, network string, before time.Time) error {
	q := s.db.Query().SQL("DELETE FROM ssv_beacon_validators WHERE network = ").Arg(network).SQL(" AND updated_at < ").Arg(before.UnixMilli())
	return s.db.InTx(ctx, "prune ssv beacon states", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.String(), q.Args()...)
		return err
	})
}

// HasBeacon tells whether any beacon-chain state is stored for the
// network: whether the beacon fields and filters can be answered.
func (s *Store) HasBeacon(ctx context.Context, network string) (bool, error) {
	rows, err := s.query(ctx, "read ssv beacon states", s.db.Query().SQL("SELECT 1 FROM ssv_beacon_validators WHERE network = ").Arg(network).SQL(" LIMIT 1"))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	has := rows.Next()
	return has, rows.Err()
}
