package devnet

import (
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/telemetry/feedtest"
)

// NodeVersion is what the devnet's telemetry nodes report, and the
// client_forced_version of its candidates file: every node is up to date
// until a test says otherwise (SetNodeVersion).
const NodeVersion = "1.5.0"

// startFeed runs a telemetry feed on loopback, speaking the
// substrate-telemetry feed protocol, with one node per candidate named as
// in the candidates file, online and located. Chopsticks runs no node, so
// the telemetry rules (ONLINE, CLIENT_UPGRADE, offline time) have this
// feed to judge by; a test changes a node through the Devnet's methods.
func (d *Devnet) startFeed() {
	if d.o.NoTelemetry {
		return
	}
	g := d.c.Genesis()
	d.feed = feedtest.New(hex0x(g[:]))
	d.nodes = map[string]uint64{}
	for i, c := range d.cands {
		d.nodes[c.Name] = d.feed.Add(feedtest.Node{Name: c.Name, Implementation: "Parity Polkadot", Version: NodeVersion + "-devnet",
			NetworkID: fmt.Sprintf("12D3KooWDevnet%02d", i), StartupTime: pinnedNow,
			Location: &feedtest.Location{Lat: 52.52, Lon: 13.40, City: "Berlin"}})
	}
}

// Feed is the devnet's telemetry feed (nil with Options.NoTelemetry).
func (d *Devnet) Feed() *feedtest.Server { return d.feed }

// TakeNodeOffline removes a candidate's node from the feed (ONLINE).
func (d *Devnet) TakeNodeOffline(name string) error {
	id, ok := d.nodes[name]
	if !ok || d.feed == nil {
		return fmt.Errorf("no telemetry node of candidate %q", name)
	}
	d.feed.Remove(id)
	delete(d.nodes, name)
	return nil
}

func (d *Devnet) feedURL() string {
	if d.feed == nil {
		return ""
	}
	return d.feed.URL()
}
