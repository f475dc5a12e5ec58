package sink

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/safe"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

// Bounds of what the registry keeps of an event.
const (
	maxOperatorKey = 4096 // the base64 PEM of an operator's RSA key
	maxReason      = 512
	maxListArgs    = 10000 // operator ids or addresses of one event
)

// Sizes of a ValidatorAdded's keys and shares (research §2.4).
const (
	pubKeyLen       = 48
	sigLen          = 96
	sharePubKeyLen  = 48
	encryptedKeyLen = 256
	maxOperators    = 13
)

// paramArg: the DAO and network-fee events, and the argument holding the
// new value. The parameter is named after the event: its snake case
// without "_updated" (network_fee, declare_operator_fee_period, …).
var paramArg = map[string]string{
	"NetworkFeeUpdated":                      "newFee",
	"NetworkFeeUpdatedSSV":                   "newFee",
	"OperatorFeeIncreaseLimitUpdated":        "value",
	"DeclareOperatorFeePeriodUpdated":        "value",
	"ExecuteOperatorFeePeriodUpdated":        "value",
	"LiquidationThresholdPeriodUpdated":      "value",
	"LiquidationThresholdPeriodSSVUpdated":   "value",
	"MinimumLiquidationCollateralUpdated":    "value",
	"MinimumLiquidationCollateralSSVUpdated": "value",
	"OperatorMaximumFeeUpdated":              "maxFee",
	"MinimumOperatorEthFeeUpdated":           "minFee",
}

// ParamName is the ssv_network_params name of a DAO or network-fee event.
func ParamName(event string) string { return strings.Replace(events.Kind(event), "_updated", "", 1) }

// apply applies one contract event to the registry. The outcome is ""
// when applied, else why not (kept in the applied-event log); an error is
// the database failing.
func (b *batch) apply(n *network, e *entry) (string, error) {
	if n.v2Block == 0 && v2Only[e.name] {
		n.v2Block = e.block
	}
	switch e.name {
	case "OperatorAdded":
		return b.operatorAdded(n, e)
	case "OperatorRemoved", "OperatorFeeDeclared", "OperatorFeeDeclarationCancelled", "OperatorFeeExecuted", "OperatorWhitelistUpdated":
		return b.operatorUpdate(n, e)
	case "OperatorMultipleWhitelistUpdated", "OperatorMultipleWhitelistRemoved", "OperatorPrivacyStatusUpdated", "OperatorWhitelistingContractUpdated":
		return b.operatorsUpdate(n, e)
	case "ValidatorAdded":
		return b.validatorAdded(n, e)
	case "ValidatorRemoved", "ValidatorExited":
		return b.validatorGone(n, e)
	case "ClusterLiquidated", "ClusterReactivated", "ClusterDeposited", "ClusterWithdrawn", "ClusterMigratedToETH", "ClusterBalanceUpdated":
		return b.clusterEvent(n, e)
	case "Upgraded":
		return n.upgraded(e), nil
	case "FeeRecipientAddressUpdated":
		var a ownerArgs
		if err := parseArgs(e.name, e.args, &a); err != nil {
			return err.Error(), nil
		}
		if a.Owner == "" || a.RecipientAddress == nil {
			return "malformed FeeRecipientAddressUpdated args: owner or recipientAddress missing", nil
		}
		o, err := b.owner(n, string(a.Owner))
		if err != nil {
			return "", err
		}
		o.feeRecipient, o.dirty = string(*a.RecipientAddress), true
		return "", nil
	}
	if key, ok := paramArg[e.name]; ok {
		var m map[string]json.RawMessage
		var v u256
		if err := json.Unmarshal(e.args, &m); err != nil {
			return fmt.Sprintf("malformed %s args: %v", e.name, err), nil
		}
		if err := json.Unmarshal(m[key], &v); err != nil {
			return fmt.Sprintf("malformed %s args: %s: %v", e.name, key, err), nil
		}
		_, err := b.exec("store ssv network parameter", b.q().SQL("INSERT INTO ssv_network_params (network, name, value, block) VALUES ").
			Row(n.name, ParamName(e.name), string(v), store.U64(e.block)).
			SQL(" ON CONFLICT (network, name) DO UPDATE SET value = excluded.value, block = excluded.block"))
		return "", err
	}
	return "", nil // only in the applied-event log (OperatorWithdrawn, …)
}

// owner is an owner's cached state, read from ssv_owners on first use.
func (b *batch) owner(n *network, addr string) (*ownerState, error) {
	if o := n.owners[addr]; o != nil {
		return o, nil
	}
	o := &ownerState{}
	q := b.q().SQL("SELECT nonce, fee_recipient FROM ssv_owners WHERE network = ").Arg(n.name).SQL(" AND address = ").Arg(addr)
	err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&o.nonce), &o.feeRecipient)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read ssv owner %s: %w", addr, err)
	}
	n.owners[addr] = o
	return o, nil
}

// ops returns the cached existence of operators, reading the unknown ones.
func (b *batch) ops(n *network, ids []uint64) (map[uint64]*opState, error) {
	var missing []uint64
	for _, id := range ids {
		if n.operators[id] == nil && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		q := b.q().SQL("SELECT id, removed FROM ssv_operators WHERE network = ").Arg(n.name).SQL(" AND id IN (")
		for i, id := range missing {
			if i > 0 {
				q.SQL(", ")
			}
			q.Arg(store.U64(id))
			n.operators[id] = &opState{}
		}
		q.SQL(")")
		rows, err := b.tx.QueryContext(b.ctx, q.String(), q.Args()...)
		if err != nil {
			return nil, fmt.Errorf("read ssv operators: %w", err)
		}
		for rows.Next() {
			var id uint64
			var removed bool
			if err := rows.Scan(store.U64Into(&id), &removed); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read ssv operators: %w", err)
			}
			n.operators[id] = &opState{exists: true, removed: removed}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read ssv operators: %w", err)
		}
	}
	return n.operators, nil
}

func (b *batch) operatorAdded(n *network, e *entry) (string, error) {
	var a operatorArgs
	if err := parseArgs(e.name, e.args, &a); err != nil {
		return err.Error(), nil
	}
	if a.OperatorID == nil || a.Owner == "" || a.PublicKey == nil || a.Fee == nil {
		return "malformed OperatorAdded args: operatorId, owner, publicKey or fee missing", nil
	}
	id := uint64(*a.OperatorID)
	st, err := b.ops(n, []uint64{id})
	if err != nil {
		return "", err
	}
	if st[id].exists {
		return "operator ID already exists", nil
	}
	if _, err := b.exec("add ssv operator", b.q().SQL("INSERT INTO ssv_operators (network, id, owner, public_key, fee, added_block, updated_block) VALUES ").
		Row(n.name, store.U64(id), string(a.Owner), safe.String(*a.PublicKey, maxOperatorKey), string(*a.Fee), store.U64(e.block), store.U64(e.block))); err != nil {
		return "", err
	}
	st[id].exists = true
	n.note(state.KindOperator, id)
	return "", nil
}

// operatorUpdate handles the events of one operator (operatorId).
func (b *batch) operatorUpdate(n *network, e *entry) (string, error) {
	var a operatorArgs
	if err := parseArgs(e.name, e.args, &a); err != nil {
		return err.Error(), nil
	}
	if a.OperatorID == nil {
		return "malformed " + e.name + " args: operatorId missing", nil
	}
	id := uint64(*a.OperatorID)
	st, err := b.ops(n, []uint64{id})
	if err != nil {
		return "", err
	}
	if !st[id].exists {
		return fmt.Sprintf("operator %d not found", id), nil
	}
	q := b.q().SQL("UPDATE ssv_operators SET updated_block = ").Arg(store.U64(e.block))
	switch e.name {
	case "OperatorRemoved":
		q.SQL(", removed = ").Arg(true)
		st[id].removed = true
	case "OperatorFeeDeclared":
		if a.Fee == nil || a.Block == nil {
			return "malformed OperatorFeeDeclared args: fee or blockNumber missing", nil
		}
		q.SQL(", pending_fee = ").Arg(string(*a.Fee)).SQL(", pending_fee_block = ").Arg(store.U64(uint64(*a.Block)))
	case "OperatorFeeDeclarationCancelled":
		q.SQL(", pending_fee = '', pending_fee_block = 0")
	case "OperatorFeeExecuted":
		if a.Fee == nil {
			return "malformed OperatorFeeExecuted args: fee missing", nil
		}
		q.SQL(", fee = ").Arg(string(*a.Fee)).SQL(", pending_fee = '', pending_fee_block = 0")
	case "OperatorWhitelistUpdated":
		// Legacy (before v1.2): one whitelisted address replaces the
		// list; the zero address clears it. An operator with one is private.
		if a.Whitelisted == nil {
			return "malformed OperatorWhitelistUpdated args: whitelisted missing", nil
		}
		if _, err := b.exec("clear ssv operator whitelist", b.q().SQL("DELETE FROM ssv_operator_whitelist WHERE network = ").Arg(n.name).
			SQL(" AND operator_id = ").Arg(store.U64(id))); err != nil {
			return "", err
		}
		if !a.Whitelisted.zero() {
			if err := b.whitelist(n, id, string(*a.Whitelisted)); err != nil {
				return "", err
			}
		}
		q.SQL(", private = ").Arg(!a.Whitelisted.zero())
	}
	q.SQL(" WHERE network = ").Arg(n.name).SQL(" AND id = ").Arg(store.U64(id))
	if _, err := b.exec("update ssv operator", q); err != nil {
		return "", err
	}
	n.note(state.KindOperator, id)
	return "", nil
}

func (b *batch) whitelist(n *network, id uint64, addr string) error {
	_, err := b.exec("whitelist on ssv operator", b.q().SQL("INSERT INTO ssv_operator_whitelist (network, operator_id, address) VALUES ").
		Row(n.name, store.U64(id), addr).SQL(" ON CONFLICT (network, operator_id, address) DO NOTHING"))
	return err
}

// operatorsUpdate handles the v1.2 events of several operators
// (operatorIds); unknown operators are skipped and named in the outcome.
func (b *batch) operatorsUpdate(n *network, e *entry) (string, error) {
	var a operatorsArgs
	if err := parseArgs(e.name, e.args, &a); err != nil {
		return err.Error(), nil
	}
	if len(a.OperatorIDs) > maxListArgs || len(a.WhitelistAddresses) > maxListArgs {
		return fmt.Sprintf("%s: %d operators and %d addresses, at most %d each", e.name, len(a.OperatorIDs), len(a.WhitelistAddresses), maxListArgs), nil
	}
	switch {
	case (e.name == "OperatorMultipleWhitelistUpdated" || e.name == "OperatorMultipleWhitelistRemoved") && a.WhitelistAddresses == nil,
		e.name == "OperatorPrivacyStatusUpdated" && a.ToPrivate == nil,
		e.name == "OperatorWhitelistingContractUpdated" && a.WhitelistingContract == nil:
		return "malformed " + e.name + " args: an argument is missing", nil
	}
	list := ids(a.OperatorIDs)
	st, err := b.ops(n, list)
	if err != nil {
		return "", err
	}
	var unknown []string
	for _, id := range list {
		if !st[id].exists {
			unknown = append(unknown, fmt.Sprint(id))
			continue
		}
		q := b.q().SQL("UPDATE ssv_operators SET updated_block = ").Arg(store.U64(e.block))
		switch e.name {
		case "OperatorMultipleWhitelistUpdated":
			for _, addr := range a.WhitelistAddresses {
				if err := b.whitelist(n, id, string(addr)); err != nil {
					return "", err
				}
			}
		case "OperatorMultipleWhitelistRemoved":
			for _, addr := range a.WhitelistAddresses {
				if _, err := b.exec("remove from ssv operator whitelist", b.q().SQL("DELETE FROM ssv_operator_whitelist WHERE network = ").Arg(n.name).
					SQL(" AND operator_id = ").Arg(store.U64(id)).SQL(" AND address = ").Arg(string(addr))); err != nil {
					return "", err
				}
			}
		case "OperatorPrivacyStatusUpdated":
			q.SQL(", private = ").Arg(*a.ToPrivate)
		case "OperatorWhitelistingContractUpdated":
			c := string(*a.WhitelistingContract)
			if a.WhitelistingContract.zero() {
				c = ""
			}
			q.SQL(", whitelisting_contract = ").Arg(c)
		}
		q.SQL(" WHERE network = ").Arg(n.name).SQL(" AND id = ").Arg(store.U64(id))
		if _, err := b.exec("update ssv operator", q); err != nil {
			return "", err
		}
		n.note(state.KindOperator, id)
	}
	if len(unknown) > 0 {
		return "operators not found: " + strings.Join(unknown, ","), nil
	}
	return "", nil
}

// stateless is the SSV node's checks of a registration that need no state:
// the sink's structural ones, then Config.Check.
func (s *Sink) stateless(owner common.Address, nonce uint64, a *clusterArgs, pre map[checkKey]error) string {
	ops := ids(a.OperatorIDs)
	if r := structural(ops, a); r != "" {
		return r
	}
	if s.check != nil {
		err, done := pre[keyOf(owner, nonce, a.PublicKey, ops, a.Shares)]
		if !done {
			err = s.check(owner, nonce, a.PublicKey, ops, a.Shares)
		}
		if err != nil {
			return safe.String(err.Error(), maxReason)
		}
	}
	return ""
}

// structural are the SSV node's checks of a registration's shape: operator
// count and duplicates, key and shares lengths ("" when it passes).
func structural(ops []uint64, a *clusterArgs) string {
	switch k := len(ops); {
	case k == 0:
		return "no operators"
	case k > maxOperators:
		return fmt.Sprintf("too many operators (%d)", k)
	case (k-1)%3 != 0:
		return fmt.Sprintf("given operator count (%d) cannot build a 3f+1 quorum", k)
	}
	seen := map[uint64]bool{}
	for _, id := range ops {
		if seen[id] {
			return fmt.Sprintf("duplicated operator ID (%d)", id)
		}
		seen[id] = true
	}
	if len(a.PublicKey) != pubKeyLen {
		return fmt.Sprintf("public key is %d bytes, want %d", len(a.PublicKey), pubKeyLen)
	}
	if want := sigLen + len(ops)*(sharePubKeyLen+encryptedKeyLen); len(a.Shares) != want {
		return fmt.Sprintf("shares length is not correct: %d bytes, want %d for %d operators", len(a.Shares), want, len(ops))
	}
	return ""
}

func (b *batch) validatorAdded(n *network, e *entry) (string, error) {
	var a clusterArgs
	perr := parseArgs(e.name, e.args, &a)
	if perr != nil || a.Owner == "" {
		// The nonce still advances when the owner can be read.
		var o struct {
			Owner address `json:"owner"`
		}
		if json.Unmarshal(e.args, &o) != nil || o.Owner == "" {
			if perr == nil {
				perr = errors.New("malformed ValidatorAdded args: owner missing")
			}
			return perr.Error(), nil
		}
		a = clusterArgs{Owner: o.Owner}
		if perr == nil {
			perr = errors.New("malformed ValidatorAdded args")
		}
	}
	ow, err := b.owner(n, string(a.Owner))
	if err != nil {
		return "", err
	}
	nonce := ow.nonce
	ow.nonce++
	ow.dirty = true
	key := "0x" + hex.EncodeToString(a.PublicKey)
	opIDs := ids(a.OperatorIDs)
	var tupleErr error
	if perr == nil {
		tupleErr = a.Cluster.check()
	}
	// invalid records a registration the node refuses. Its cluster tuple is
	// still applied: the contract does not look at shares and updates the
	// cluster (count + 1, balance + deposit) for every ValidatorAdded it
	// emits, and explorers build the owner's next transaction from that
	// tuple. The validator itself is not (the node runs no share of it).
	invalid := func(reason string) (string, error) {
		recorded := opIDs
		if len(recorded) > maxListArgs {
			recorded = recorded[:maxListArgs]
		}
		if _, err := b.exec("record invalid ssv registration", b.q().SQL(`INSERT INTO ssv_invalid (network, block, log_index, tx_hash, owner, public_key, operator_ids, nonce, reason) VALUES `).
			Row(n.name, store.U64(e.block), store.U64(e.logIndex), e.txHash, string(a.Owner), safe.String(key, 2*pubKeyLen+2+16), state.JoinIDs(recorded), store.U64(nonce), reason).
			SQL(" ON CONFLICT (network, block, log_index) DO NOTHING")); err != nil {
			return "", err
		}
		if perr == nil && tupleErr == nil {
			sorted := slices.Sorted(slices.Values(opIDs))
			if err := b.snapshot(n, e, string(a.Owner), sorted, ClusterID(common.HexToAddress(string(a.Owner)), sorted), a.Cluster); err != nil {
				return "", err
			}
		}
		return "invalid: " + reason, nil
	}
	if perr != nil {
		return invalid(safe.String(perr.Error(), maxReason))
	}
	if tupleErr != nil {
		return invalid("malformed ValidatorAdded args: " + tupleErr.Error())
	}
	if e.stateless == nil {
		v := b.s.stateless(common.HexToAddress(string(a.Owner)), nonce, &a, b.pre)
		e.stateless = &v
	}
	if *e.stateless != "" {
		return invalid(*e.stateless)
	}
	slices.Sort(opIDs)
	st, err := b.ops(n, opIDs)
	if err != nil {
		return "", err
	}
	for _, id := range opIDs {
		switch {
		case !st[id].exists:
			return invalid(fmt.Sprintf("not all operators exist: operator %d not found", id))
		case st[id].removed:
			return invalid(fmt.Sprintf("not all operators exist: operator %d is removed", id))
		}
	}
	var idx uint64
	var status string
	q := b.q().SQL("SELECT idx, status FROM ssv_validators WHERE network = ").Arg(n.name).SQL(" AND public_key = ").Arg(key).
		SQL(" AND owner = ").Arg(string(a.Owner))
	err = b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&idx), &status)
	again := err == nil
	switch {
	case again && status != registry.StatusRemoved:
		return invalid("validator already registered by this owner")
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("read ssv validator %s: %w", key, err)
	}
	cid := ClusterID(common.HexToAddress(string(a.Owner)), opIDs)
	joined := state.JoinIDs(opIDs)
	if again {
		// Registered again after its removal: the same row and index.
		if _, err := b.exec("register ssv validator again", b.q().SQL("UPDATE ssv_validators SET operator_ids = ").Arg(joined).
			SQL(", cluster_id = ").Arg(cid).SQL(", status = ").Arg(registry.StatusActive).SQL(", liquidated = ").Arg(false).
			SQL(", updated_block = ").Arg(store.U64(e.block)).SQL(" WHERE network = ").Arg(n.name).SQL(" AND idx = ").Arg(store.U64(idx))); err != nil {
			return "", err
		}
		if _, err := b.exec("clear ssv validator operators", b.q().SQL("DELETE FROM ssv_validator_operators WHERE network = ").Arg(n.name).
			SQL(" AND validator_idx = ").Arg(store.U64(idx))); err != nil {
			return "", err
		}
	} else {
		idx = n.nextIndex
		n.nextIndex++
		if _, err := b.exec("add ssv validator", b.q().SQL(`INSERT INTO ssv_validators (network, public_key, owner, idx, operator_ids, cluster_id, status, liquidated, added_block, updated_block) VALUES `).
			Row(n.name, key, string(a.Owner), store.U64(idx), joined, cid, registry.StatusActive, false, store.U64(e.block), store.U64(e.block))); err != nil {
			return "", err
		}
	}
	q = b.q().SQL("INSERT INTO ssv_validator_operators (network, operator_id, validator_idx) VALUES ")
	for i, id := range opIDs {
		if i > 0 {
			q.SQL(", ")
		}
		q.Row(n.name, store.U64(id), store.U64(idx))
	}
	if _, err := b.exec("add ssv validator operators", q); err != nil {
		return "", err
	}
	if err := b.snapshot(n, e, string(a.Owner), opIDs, cid, a.Cluster); err != nil {
		return "", err
	}
	n.note(state.KindValidator, idx)
	for _, id := range opIDs {
		n.note(state.KindOperator, id) // its validator count
	}
	return "", nil
}

// upgraded notes the implementation's version the sentry added to an
// Upgraded log ("" or absent: unknown, as in events synced before the
// sentry asked): a v2 or later one marks the network v2 from this block.
func (n *network) upgraded(e *entry) string {
	var a struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(e.args, &a); err != nil {
		return fmt.Sprintf("malformed Upgraded args: %v", err)
	}
	if a.Version == nil || *a.Version == "" {
		return ""
	}
	n.version, n.versionBlock = safe.String(*a.Version, 64), e.block
	if major, ok := versionMajor(*a.Version); ok && major >= 2 && n.v2Block == 0 {
		n.v2Block = e.block
	}
	return ""
}

// versionMajor reads the major of "v2.0.0" (or "2.0.0", "v2.0.0-rc.1").
func versionMajor(v string) (int, bool) {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if i == 0 || (i > 0 && v[i] != '.') {
		return 0, false
	}
	if i < 0 {
		i = len(v)
	}
	m, err := strconv.Atoi(v[:i])
	return m, err == nil
}

// v2Only are the events only SSVNetwork v2.0.0 emits (its SPEC.md §7):
// the first one seen tells that the contract is v2.
var v2Only = map[string]bool{
	"ClusterMigratedToETH": true, "ClusterBalanceUpdated": true, "OperatorWithdrawnSSV": true, "NetworkFeeUpdatedSSV": true,
	"LiquidationThresholdPeriodSSVUpdated": true, "MinimumLiquidationCollateralSSVUpdated": true, "MinimumOperatorEthFeeUpdated": true,
	"RootCommitted": true, "WeightedRootProposed": true, "OracleReplaced": true, "QuorumUpdated": true, "CooldownDurationUpdated": true,
	"Staked": true, "UnstakeRequested": true, "UnstakedWithdrawn": true, "FeesSynced": true, "RewardsSettled": true,
	"RewardsClaimed": true, "ERC20Rescued": true, "CSSVUpdated": true,
}

// Fee tokens of a cluster.
const (
	FeeSSV = "SSV"
	FeeETH = "ETH"
)

// snapshot stores a cluster's tuple as its latest state. A new cluster
// pays in ETH once the contract is v2, in SSV before; an existing one
// keeps its token until ClusterMigratedToETH.
func (b *batch) snapshot(n *network, e *entry, owner string, opIDs []uint64, cid string, c *cluster) error {
	token := FeeSSV
	if e.name == "ClusterMigratedToETH" || (n.v2Block > 0 && e.block >= n.v2Block) {
		token = FeeETH
	}
	migrated := ""
	if e.name == "ClusterMigratedToETH" {
		migrated = ", fee_token = excluded.fee_token"
	}
	_, err := b.exec("store ssv cluster", b.q().SQL(`INSERT INTO ssv_clusters (network, id, owner, operator_ids, validator_count, network_fee_index, idx, active, balance, fee_token, updated_block) VALUES `).
		Row(n.name, cid, owner, state.JoinIDs(opIDs), store.U64(uint64(*c.ValidatorCount)), store.U64(uint64(*c.NetworkFeeIndex)), store.U64(uint64(*c.Index)),
			*c.Active, string(*c.Balance), token, store.U64(e.block)).
		SQL(` ON CONFLICT (network, id) DO UPDATE SET validator_count = excluded.validator_count, network_fee_index = excluded.network_fee_index,
		idx = excluded.idx, active = excluded.active, balance = excluded.balance, updated_block = excluded.updated_block`, migrated))
	return err
}

// validatorGone handles ValidatorRemoved and ValidatorExited.
func (b *batch) validatorGone(n *network, e *entry) (string, error) {
	var a clusterArgs
	if err := parseArgs(e.name, e.args, &a); err != nil {
		return err.Error(), nil
	}
	if a.Owner == "" || len(a.PublicKey) == 0 {
		return "malformed " + e.name + " args: owner or publicKey missing", nil
	}
	opIDs := ids(a.OperatorIDs)
	slices.Sort(opIDs)
	outcome := ""
	key := "0x" + hex.EncodeToString(a.PublicKey)
	var idx uint64
	var status string
	q := b.q().SQL("SELECT idx, status FROM ssv_validators WHERE network = ").Arg(n.name).SQL(" AND public_key = ").Arg(key).
		SQL(" AND owner = ").Arg(string(a.Owner))
	err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&idx), &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		outcome = "validator share not found"
	case err != nil:
		return "", fmt.Errorf("read ssv validator %s: %w", key, err)
	case status == registry.StatusRemoved:
		outcome = "validator is removed"
	default:
		to := registry.StatusRemoved
		if e.name == "ValidatorExited" {
			to = registry.StatusExited
		}
		if _, err := b.exec("update ssv validator status", b.q().SQL("UPDATE ssv_validators SET status = ").Arg(to).
			SQL(", updated_block = ").Arg(store.U64(e.block)).SQL(" WHERE network = ").Arg(n.name).SQL(" AND idx = ").Arg(store.U64(idx))); err != nil {
			return "", err
		}
		n.note(state.KindValidator, idx)
		if to == registry.StatusRemoved {
			for _, id := range opIDs {
				n.note(state.KindOperator, id)
			}
		}
	}
	if e.name == "ValidatorRemoved" && a.Cluster != nil {
		if err := a.Cluster.check(); err != nil {
			return joinOutcome(outcome, "cluster: "+err.Error()), nil
		}
		if err := b.snapshot(n, e, string(a.Owner), opIDs, ClusterID(common.HexToAddress(string(a.Owner)), opIDs), a.Cluster); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

func joinOutcome(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// clusterEvent stores the tuple of a cluster event; liquidation and
// reactivation also mark the cluster's validators.
func (b *batch) clusterEvent(n *network, e *entry) (string, error) {
	var a clusterArgs
	if err := parseArgs(e.name, e.args, &a); err != nil {
		return err.Error(), nil
	}
	if a.Owner == "" {
		return "malformed " + e.name + " args: owner missing", nil
	}
	if err := a.Cluster.check(); err != nil {
		return "malformed " + e.name + " args: " + err.Error(), nil
	}
	opIDs := ids(a.OperatorIDs)
	slices.Sort(opIDs)
	cid := ClusterID(common.HexToAddress(string(a.Owner)), opIDs)
	if err := b.snapshot(n, e, string(a.Owner), opIDs, cid, a.Cluster); err != nil {
		return "", err
	}
	if e.name != "ClusterLiquidated" && e.name != "ClusterReactivated" {
		return "", nil
	}
	liquidated := e.name == "ClusterLiquidated"
	q := b.q().SQL("SELECT idx FROM ssv_validators WHERE network = ").Arg(n.name).SQL(" AND cluster_id = ").Arg(cid).
		SQL(" AND liquidated = ").Arg(!liquidated).SQL(" ORDER BY idx")
	rows, err := b.tx.QueryContext(b.ctx, q.String(), q.Args()...)
	if err != nil {
		return "", fmt.Errorf("read ssv validators of cluster %s: %w", cid, err)
	}
	var idxs []uint64
	for rows.Next() {
		var i uint64
		if err := rows.Scan(store.U64Into(&i)); err != nil {
			rows.Close()
			return "", fmt.Errorf("read ssv validators of cluster %s: %w", cid, err)
		}
		idxs = append(idxs, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read ssv validators of cluster %s: %w", cid, err)
	}
	if len(idxs) == 0 {
		return "", nil
	}
	if _, err := b.exec("mark ssv cluster validators", b.q().SQL("UPDATE ssv_validators SET liquidated = ").Arg(liquidated).
		SQL(", updated_block = ").Arg(store.U64(e.block)).SQL(" WHERE network = ").Arg(n.name).SQL(" AND cluster_id = ").Arg(cid).SQL(" AND liquidated = ").Arg(!liquidated)); err != nil {
		return "", err
	}
	for _, i := range idxs {
		n.note(state.KindValidator, i)
	}
	for _, id := range opIDs {
		n.note(state.KindOperator, id)
	}
	return "", nil
}
