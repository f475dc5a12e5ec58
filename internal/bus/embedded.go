package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrStoreInUse: another process has the embedded bus of this data
// directory open (it is locked while a Bus on it is open).
var ErrStoreInUse = errors.New("the embedded bus is in use by another process")

// storeLockName is the lock file in the embedded server's store directory.
const storeLockName = "valtrack.lock"

// startEmbedded runs a nats-server with JetStream file storage under
// DataDir/nats, reachable in-process and, if ListenAddr is set, over TCP.
// It holds the directory's lock until release is called, after the server
// has shut down.
func startEmbedded(cfg Config, log *slog.Logger) (_ *server.Server, release func(), err error) {
	release, err = lockStore(filepath.Join(cfg.DataDir, "nats"))
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	opts := &server.Options{
		ServerName: "valtrack-embedded",
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true, // signals belong to the valtrack process, not the library
		DontListen: cfg.ListenAddr == "",
	}
	if cfg.ListenAddr != "" {
		host, port, err := splitListenAddr(cfg.ListenAddr)
		if err != nil {
			return nil, nil, err
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("create embedded nats-server in %s: %w (check DataDir)", opts.StoreDir, err)
	}
	s.SetLoggerV2(&serverLogger{log: log.With("component", "nats-server")}, false, false, false)
	s.Start()
	if !s.ReadyForConnections(embeddedReadyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, nil, fmt.Errorf("start embedded nats-server: not ready after %s (is ListenAddr %q free, is %s writable?)",
			embeddedReadyTimeout, cfg.ListenAddr, opts.StoreDir)
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, nil, fmt.Errorf("start embedded nats-server: JetStream did not start (check that %s is writable and has free space)", opts.StoreDir)
	}
	return s, release, nil
}

// serverLogger forwards nats-server logs to slog. Notices are the server's
// chatty start-up banner, so they go to debug.
type serverLogger struct{ log *slog.Logger }

func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
