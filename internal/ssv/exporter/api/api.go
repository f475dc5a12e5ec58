// Package api holds the request types the SSV exporter decodes a /query
// frame into. They exist for their names: encoding/json names the package,
// the struct and the field type in its error text ("Go struct field
// MessageFilter.filter.from", "of type api.MessageType"), and the exporter
// sends that text to the client after "could not parse network message".
// Decoding into types of the same package name and type names makes
// valtrack's reply the same byte for byte. Nothing else belongs here.
package api

// MessageType is a message's type ("operator", "validator", ...).
type MessageType string

// MessageFilter is a message's filter, fields and tags as the exporter's.
type MessageFilter struct {
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Role      string `json:"role,omitempty"`
	PublicKey string `json:"publicKey,omitempty"`
}

// Message is a request as the exporter decodes it. Data is decoded as the
// exporter does (any) so a request's data of any JSON type is accepted and
// then dropped, as there.
type Message struct {
	Type   MessageType   `json:"type"`
	Filter MessageFilter `json:"filter"`
	Data   any           `json:"data,omitempty"`
}
