// Package geo resolves IP addresses to a location, an autonomous system and a
// hosting class, from MaxMind DB files (GeoLite2-City.mmdb, GeoLite2-ASN.mmdb
// or compatible databases such as DB-IP's lite editions).
//
// Either database may be missing: the resolver then leaves the fields it would
// have filled empty, so a deployment without MaxMind files still runs.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Classes reported in Info.Class.
const (
	ClassHosting     = "hosting"     // cloud provider or data centre
	ClassResidential = "residential" // a known ASN that is not a hosting one
	ClassPrivate     = "private"     // RFC 1918, ULA, CGNAT, link-local
	ClassLoopback    = "loopback"
	ClassUnknown     = "unknown" // bad input, or no ASN known for the address
)

// maxInputLen bounds the text Lookup will parse: the longest IPv6 literal
// with a zone is far shorter, and input comes from the network.
const maxInputLen = 64

// Info is what is known about one IP address.
type Info struct {
	IP             string  `json:"ip"`
	Country        string  `json:"country,omitempty"`
	CountryCode    string  `json:"country_code,omitempty"`
	Region         string  `json:"region,omitempty"`
	City           string  `json:"city,omitempty"`
	Latitude       float64 `json:"latitude,omitempty"`
	Longitude      float64 `json:"longitude,omitempty"`
	ASN            uint32  `json:"asn,omitempty"`
	ASOrganization string  `json:"as_organization,omitempty"`
	Class          string  `json:"class"`
}

// Options names the database files; either may be empty.
type Options struct {
	CityDB string // a GeoLite2-City.mmdb (or GeoIP2-City, or a Country database)
	ASNDB  string // a GeoLite2-ASN.mmdb
}

// Resolver looks addresses up. It is safe for concurrent use: the MaxMind
// readers are read-only memory maps.
type Resolver struct {
	city *maxminddb.Reader
	asn  *maxminddb.Reader
}

// Open opens the configured databases and checks each is of the expected kind,
// so a swapped pair of paths fails at start-up instead of yielding empty rows.
func Open(o Options) (*Resolver, error) {
	r := &Resolver{}
	if o.CityDB != "" {
		db, err := openDB(o.CityDB, "GeoLite2-City.mmdb", "City", "Country")
		if err != nil {
			return nil, err
		}
		r.city = db
	}
	if o.ASNDB != "" {
		db, err := openDB(o.ASNDB, "GeoLite2-ASN.mmdb", "ASN", "ISP")
		if err != nil {
			if r.city != nil {
				_ = r.city.Close()
			}
			return nil, err
		}
		r.asn = db
	}
	return r, nil
}

// openDB opens path and refuses it unless its database_type metadata contains
// one of kinds.
func openDB(path, expected string, kinds ...string) (*maxminddb.Reader, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open geo database %q: %w (expected a MaxMind DB file such as %s)", path, err, expected)
	}
	typ := db.Metadata.DatabaseType
	for _, k := range kinds {
		if strings.Contains(typ, k) {
			return db, nil
		}
	}
	_ = db.Close()
	return nil, fmt.Errorf("open geo database %q: it is a %q database, expected a %s database such as %s; check the path", path, typ, kinds[0], expected)
}

// Close releases the databases.
func (r *Resolver) Close() error {
	var errs []error
	if r.city != nil {
		errs = append(errs, r.city.Close())
		r.city = nil
	}
	if r.asn != nil {
		errs = append(errs, r.asn.Close())
		r.asn = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close geo databases: %w", err)
	}
	return nil
}

// cityRecord is the part of a GeoLite2-City record valtrack uses.
type cityRecord struct {
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
	Subdivisions []struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
}

// asnRecord is a GeoLite2-ASN record.
type asnRecord struct {
	Number       uint32 `maxminddb:"autonomous_system_number"`
	Organization string `maxminddb:"autonomous_system_organization"`
}

// Lookup resolves ip. It never fails: text that is not an address yields
// Class "unknown"; private, loopback and link-local addresses are classified
// without a database lookup (their location would be meaningless).
func (r *Resolver) Lookup(ip string) Info {
	if len(ip) > maxInputLen {
		return Info{Class: ClassUnknown}
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]"))
	if err != nil {
		return Info{Class: ClassUnknown}
	}
	addr = addr.WithZone("").Unmap()
	info := Info{IP: addr.String(), Class: ClassUnknown}
	if c, local := localClass(addr); local {
		info.Class = c
		return info
	}
	if r.city != nil {
		var rec cityRecord
		// A decode error means a corrupt record: keep what we have, the
		// address is still worth reporting.
		if err := r.city.Lookup(addr).Decode(&rec); err == nil {
			info.Country = rec.Country.Names["en"]
			info.CountryCode = rec.Country.ISOCode
			info.City = rec.City.Names["en"]
			if len(rec.Subdivisions) > 0 {
				info.Region = rec.Subdivisions[0].Names["en"]
			}
			info.Latitude = rec.Location.Latitude
			info.Longitude = rec.Location.Longitude
		}
	}
	if r.asn != nil {
		var rec asnRecord
		if err := r.asn.Lookup(addr).Decode(&rec); err == nil && rec.Number != 0 {
			info.ASN = rec.Number
			info.ASOrganization = rec.Organization
			info.Class = HostingClass(rec.Number, rec.Organization)
		}
	}
	return info
}

// localClass classifies addresses that are not routable on the internet.
func localClass(a netip.Addr) (string, bool) {
	switch {
	case a.IsLoopback():
		return ClassLoopback, true
	case a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		isCGNAT(a):
		return ClassPrivate, true
	case a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return ClassUnknown, true
	}
	return "", false
}

// isCGNAT reports whether a is in 100.64.0.0/10, the shared address space of
// RFC 6598 that carrier-grade NATs use.
func isCGNAT(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 100 && b[1]&0xc0 == 64
}
