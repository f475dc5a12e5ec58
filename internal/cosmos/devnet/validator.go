package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	cfg "github.com/cometbft/cometbft/config"
	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	"github.com/cometbft/cometbft/types"
)

// rpcDrainTimeout bounds how long a stop waits for RPC requests that were
// already running when their connections were closed.
const rpcDrainTimeout = 5 * time.Second

// validator is one CometBFT node of the devnet. Its fields other than
// those under running are fixed for the devnet's life; running ones are
// guarded by Devnet.mu.
type validator struct {
	index   int
	moniker string
	home    string
	address types.Address
	nodeKey *p2p.NodeKey
	p2pPort int
	rpcPort int

	running *instance // nil when stopped
}

// instance is one run of a validator: a node, the stores it opened and the
// RPC server in front of it. A stopped node cannot be started again
// (CometBFT services are one-shot), so a restart is a new instance over
// the same home.
type instance struct {
	node  *node.Node
	dbs   *dbSet
	appDB dbm.DB
	rpc   *rpcServer
}

func (v *validator) p2pAddr() string { return fmt.Sprintf("127.0.0.1:%d", v.p2pPort) }
func (v *validator) rpcURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", v.rpcPort) }

// config is the CometBFT configuration of v in devnet d. A validator
// that starts behind the others fetches the missing blocks by block sync
// before it votes: CometBFT v0.38 always does, with more than one
// validator.
func (d *Devnet) config(v *validator) *cfg.Config {
	c := cfg.DefaultConfig()
	c.SetRoot(v.home)
	c.Moniker = v.moniker
	c.DBBackend = string(dbm.GoLevelDBBackend)

	c.P2P.ListenAddress = "tcp://" + v.p2pAddr()
	var peers []string
	for _, o := range d.vals {
		if o != v {
			peers = append(peers, p2p.IDAddressString(o.nodeKey.ID(), o.p2pAddr()))
		}
	}
	c.P2P.PersistentPeers = strings.Join(peers, ",")
	// Every validator is on 127.0.0.1: the address book must accept
	// loopback addresses and several peers on one IP.
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	// The peers are all persistent: nothing to exchange.
	c.P2P.PexReactor = false
	// Loopback has no bandwidth to save: flush votes and block parts at
	// once rather than every 100 ms, which would dominate short blocks.
	c.P2P.FlushThrottleTimeout = 10 * time.Millisecond

	c.RPC.ListenAddress = "tcp://" + fmt.Sprintf("127.0.0.1:%d", v.rpcPort)

	c.Consensus.TimeoutCommit = d.o.BlockInterval
	c.Consensus.CreateEmptyBlocks = true
	c.Consensus.CreateEmptyBlocksInterval = 0
	// Shorter than CometBFT's defaults (3 s, 1 s, 1 s) so that a round
	// whose proposer is stopped costs about a second, not five: stopping
	// validators is what this devnet is for.
	c.Consensus.TimeoutPropose = time.Second
	c.Consensus.TimeoutProposeDelta = 200 * time.Millisecond
	c.Consensus.TimeoutPrevote = 500 * time.Millisecond
	c.Consensus.TimeoutPrevoteDelta = 200 * time.Millisecond
	c.Consensus.TimeoutPrecommit = 500 * time.Millisecond
	c.Consensus.TimeoutPrecommitDelta = 200 * time.Millisecond
	return c
}

// start runs a new instance of v from its home.
func (d *Devnet) start(v *validator) (err error) {
	conf := d.config(v)
	if err := conf.ValidateBasic(); err != nil {
		return fmt.Errorf("configuration of validator %d: %w", v.index, err)
	}
	pv, err := loadPV(v.home)
	if err != nil {
		return fmt.Errorf("load the key of validator %d: %w", v.index, err)
	}
	// The application's state lives beside CometBFT's stores, so a
	// restarted validator resumes at its last height instead of replaying
	// the chain into an empty kvstore.
	rawAppDB, err := dbm.NewGoLevelDB("kvstore", conf.DBDir())
	if err != nil {
		return fmt.Errorf("open the application store of validator %d in %s: %w", v.index, conf.DBDir(), err)
	}
	appDB := guard(rawAppDB)
	in := &instance{dbs: &dbSet{}, appDB: appDB}
	defer func() {
		if err != nil {
			in.closeStores()
		}
	}()
	log := d.o.Log.With("validator", v.index)
	n, err := node.NewNode(conf, pv, v.nodeKey,
		proxy.NewLocalClientCreator(&app{Application: kvstore.NewApplication(appDB), q: d.queries}),
		func() (*types.GenesisDoc, error) { return d.gen, nil },
		in.dbs.provider,
		node.DefaultMetricsProvider(conf.Instrumentation),
		cometLogger{log.With("module", "cometbft")},
	)
	if err != nil {
		return fmt.Errorf("create the node of validator %d: %w", v.index, err)
	}
	in.node = n
	defer func() {
		if err != nil {
			_ = n.ProxyApp().Stop()
		}
	}()

	// The devnet serves the node's RPC itself, so that a stop can close
	// every connection to it, websockets included: a stopped validator
	// must look like a stopped process to whoever watches it. The node's
	// config keeps the address until NewNode has put it in the node info
	// (/status shows it); cleared, the node starts no RPC of its own.
	conf.RPC.ListenAddress = ""
	in.rpc, err = d.serveRPC(v, n, log)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			in.rpc.close()
		}
	}()
	if err := n.Start(); err != nil {
		// OnStart does not undo what it opened before failing (the p2p
		// listener); OnStop closes that and the node's stores.
		n.OnStop()
		return fmt.Errorf("start validator %d (p2p on %s): %w%s", v.index, v.p2pAddr(), err, portHint(err))
	}
	v.running = in
	return nil
}

// portHint says what to do about a port in use: a validator keeps its
// ports for the devnet's life, and another program may have taken one
// while it was stopped.
func portHint(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return " (another program holds the port: free it, then start the validator again)"
	}
	return ""
}

// stop stops the running instance of v and closes its stores, so that the
// home can be opened again.
func (v *validator) stop() error {
	in := v.running
	if in == nil {
		return nil
	}
	v.running = nil
	in.rpc.close()
	err := in.node.Stop()
	in.node.Wait()
	if perr := in.node.ProxyApp().Stop(); perr != nil && err == nil {
		err = perr
	}
	in.closeStores()
	if err != nil {
		return fmt.Errorf("stop validator %d: %w", v.index, err)
	}
	return nil
}

func (in *instance) closeStores() {
	// The node closes its block and state stores itself, but not every
	// store it opens (the tx and block indexes); a guardedDB closes once.
	in.dbs.closeAll()
	_ = in.appDB.Close()
}

// dbSet records the stores a node opens through its DBProvider.
type dbSet struct {
	mu  sync.Mutex
	dbs []dbm.DB
}

func (s *dbSet) provider(ctx *cfg.DBContext) (dbm.DB, error) {
	raw, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	db := guard(raw)
	s.mu.Lock()
	s.dbs = append(s.dbs, db)
	s.mu.Unlock()
	return db, nil
}

func (s *dbSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, db := range s.dbs {
		_ = db.Close()
	}
	s.dbs = nil
}

// rpcServer is a node's CometBFT RPC (HTTP, JSON-RPC and websocket) on
// a listener that tracks its connections.
type rpcServer struct {
	ln       *trackingListener
	inflight sync.WaitGroup
	done     chan struct{}
}

func (d *Devnet) serveRPC(v *validator, n *node.Node, log *slog.Logger) (*rpcServer, error) {
	env, err := n.ConfigureRPC()
	if err != nil {
		return nil, fmt.Errorf("configure the RPC of validator %d: %w", v.index, err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", v.rpcPort))
	if err != nil {
		return nil, fmt.Errorf("start validator %d: listen for RPC on 127.0.0.1:%d: %w%s", v.index, v.rpcPort, err, portHint(err))
	}
	s := &rpcServer{ln: &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}, done: make(chan struct{})}
	routes := env.GetRoutes()
	logger := cometLogger{log.With("module", "rpc-server")}
	eventBus := n.EventBus()
	wm := rpcserver.NewWebsocketManager(routes,
		rpcserver.OnDisconnect(func(remoteAddr string) {
			err := eventBus.UnsubscribeAll(context.Background(), remoteAddr)
			if err != nil && !errors.Is(err, cmtpubsub.ErrSubscriptionNotFound) {
				log.Debug("unsubscribe a closed websocket", "remote", remoteAddr, "err", err)
			}
		}),
	)
	wm.SetLogger(logger.With("protocol", "websocket"))
	mux := http.NewServeMux()
	mux.HandleFunc("/websocket", wm.WebsocketHandler)
	rpcserver.RegisterRPCFuncs(mux, routes, logger)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		mux.ServeHTTP(w, r)
	})
	go func() {
		defer close(s.done)
		_ = rpcserver.Serve(s.ln, handler, logger, rpcserver.DefaultConfig())
	}()
	return s, nil
}

// close stops accepting, closes every open connection and waits (bounded)
// for the requests that were running, so none of them reads a store the
// node is about to close.
func (s *rpcServer) close() {
	s.ln.closeAll()
	<-s.done
	drained := make(chan struct{})
	go func() { s.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(rpcDrainTimeout):
	}
}

// trackingListener remembers the connections it accepted, hijacked
// (websocket) ones included, which http.Server.Close would leave open.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	_ = l.Listener.Close()
	for c := range conns {
		_ = c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
