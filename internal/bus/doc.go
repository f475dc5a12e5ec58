// Package bus is valtrack's event bus on NATS JetStream.
//
// One stream per domain (ETHEREUM holds ethereum.>, COSMOS holds cosmos.>, ...).
// Sentries publish through a Publisher that keeps every message until the
// stream acknowledges it and re-sends it with the same Nats-Msg-Id after an
// error or a reconnection, so the stream's duplicate window drops the copies.
// A process has one Publisher; each domain publishes through a Scope of it,
// whose Flush waits for that domain's messages alone.
// Consumers read through durable pull consumers and acknowledge a batch only
// after their handler returned, that is after the batch was durably written.
//
// By default the bus embeds a nats-server in the process (JetStream file
// storage under the data directory); at scale it connects to an external NATS
// JetStream cluster instead.
package bus
