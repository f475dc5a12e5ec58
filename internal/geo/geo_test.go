package geo

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Test databases cover only documentation ranges (RFC 5737, RFC 3849) and,
// to prove local addresses are never looked up, private ranges.

func names(en string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(en)}
}

func cityRec(country, cc, region, city string, lat, lon float64) mmdbtype.Map {
	return mmdbtype.Map{
		"city":         mmdbtype.Map{"names": names(city)},
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String(cc), "names": names(country)},
		"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(lat), "longitude": mmdbtype.Float64(lon)},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("XX"), "names": names(region)}},
	}
}

func asnRec(n uint32, org string) mmdbtype.Map {
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(n),
		"autonomous_system_organization": mmdbtype.String(org),
	}
}

func writeDB(t testing.TB, dbType string, recs map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range recs {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func testDBs(t testing.TB) (city, asn string) {
	city = writeDB(t, "GeoLite2-City", map[string]mmdbtype.Map{
		"192.0.2.0/24":    cityRec("Germany", "DE", "Bavaria", "Nuremberg", 49.45, 11.07),
		"198.51.100.0/24": cityRec("Japan", "JP", "Tokyo", "Tokyo", 35.68, 139.69),
		"203.0.113.0/24":  cityRec("Canada", "CA", "Quebec", "Montreal", 45.5, -73.56),
		"2001:db8::/32":   cityRec("France", "FR", "Hauts-de-France", "Roubaix", 50.69, 3.17),
		// Records for local ranges that Lookup must never return.
		"10.0.0.0/8":     cityRec("Nowhere", "ZZ", "x", "x", 1, 1),
		"127.0.0.0/8":    cityRec("Nowhere", "ZZ", "x", "x", 1, 1),
		"100.64.0.0/10":  cityRec("Nowhere", "ZZ", "x", "x", 1, 1),
		"169.254.0.0/16": cityRec("Nowhere", "ZZ", "x", "x", 1, 1),
		"fc00::/7":       cityRec("Nowhere", "ZZ", "x", "x", 1, 1),
	})
	asn = writeDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"192.0.2.0/24":    asnRec(24940, "Hetzner Online GmbH"),
		"198.51.100.0/24": asnRec(64500, "Example Telecom"),
		"203.0.113.0/24":  asnRec(64501, "Tiny VPS Ltd"),
		"2001:db8::/32":   asnRec(16276, "OVH SAS"),
		"10.0.0.0/8":      asnRec(16509, "AMAZON-02"),
		"127.0.0.0/8":     asnRec(16509, "AMAZON-02"),
		"100.64.0.0/10":   asnRec(16509, "AMAZON-02"),
		"169.254.0.0/16":  asnRec(16509, "AMAZON-02"),
		"fc00::/7":        asnRec(16509, "AMAZON-02"),
	})
	return city, asn
}

func openTest(t testing.TB) *Resolver {
	t.Helper()
	city, asn := testDBs(t)
	r, err := Open(Options{CityDB: city, ASNDB: asn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestLookupCityAndASN(t *testing.T) {
	r := openTest(t)
	cases := []struct {
		in   string
		want Info
	}{
		{"192.0.2.10", Info{IP: "192.0.2.10", Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "Nuremberg", Latitude: 49.45, Longitude: 11.07, ASN: 24940, ASOrganization: "Hetzner Online GmbH", Class: ClassHosting}},
		{"198.51.100.7", Info{IP: "198.51.100.7", Country: "Japan", CountryCode: "JP", Region: "Tokyo", City: "Tokyo", Latitude: 35.68, Longitude: 139.69, ASN: 64500, ASOrganization: "Example Telecom", Class: ClassResidential}},
		{"203.0.113.5", Info{IP: "203.0.113.5", Country: "Canada", CountryCode: "CA", Region: "Quebec", City: "Montreal", Latitude: 45.5, Longitude: -73.56, ASN: 64501, ASOrganization: "Tiny VPS Ltd", Class: ClassHosting}},
		{"2001:db8::1", Info{IP: "2001:db8::1", Country: "France", CountryCode: "FR", Region: "Hauts-de-France", City: "Roubaix", Latitude: 50.69, Longitude: 3.17, ASN: 16276, ASOrganization: "OVH SAS", Class: ClassHosting}},
		// IPv4-mapped IPv6 and bracketed forms resolve as the plain address.
		{"::ffff:192.0.2.10", Info{IP: "192.0.2.10", Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "Nuremberg", Latitude: 49.45, Longitude: 11.07, ASN: 24940, ASOrganization: "Hetzner Online GmbH", Class: ClassHosting}},
		{"[2001:db8::1]", Info{IP: "2001:db8::1", Country: "France", CountryCode: "FR", Region: "Hauts-de-France", City: "Roubaix", Latitude: 50.69, Longitude: 3.17, ASN: 16276, ASOrganization: "OVH SAS", Class: ClassHosting}},
		// A public address absent from both databases.
		{"198.18.0.1", Info{IP: "198.18.0.1", Class: ClassUnknown}},
	}
	for _, c := range cases {
		if got := r.Lookup(c.in); got != c.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestLocalAddressesAreClassifiedWithoutLookup(t *testing.T) {
	r := openTest(t) // holds records for these ranges: they must not show
	cases := map[string]string{
		"10.1.2.3":     ClassPrivate,
		"172.16.0.1":   ClassPrivate,
		"192.168.1.1":  ClassPrivate,
		"100.64.0.1":   ClassPrivate,
		"100.127.1.1":  ClassPrivate,
		"169.254.1.1":  ClassPrivate,
		"fd00::1":      ClassPrivate,
		"fe80::1%eth0": ClassPrivate,
		"127.0.0.1":    ClassLoopback,
		"127.8.8.8":    ClassLoopback,
		"::1":          ClassLoopback,
		"0.0.0.0":      ClassUnknown,
		"239.1.2.3":    ClassUnknown,
	}
	for in, class := range cases {
		got := r.Lookup(in)
		if got.Class != class || got.Country != "" || got.ASN != 0 || got.IP == "" {
			t.Errorf("Lookup(%q) = %+v, want class %q, an IP and no geo data", in, got, class)
		}
	}
	// 100.128.0.1 is just outside CGNAT space: not private.
	if got := r.Lookup("100.128.0.1"); got.Class == ClassPrivate {
		t.Errorf("100.128.0.1 classified private")
	}
}

func TestBadInputIsUnknown(t *testing.T) {
	r := openTest(t)
	for _, in := range []string{"", "not-an-ip", "999.1.1.1", "192.0.2.1:9000", "1.2.3", strings.Repeat("1", 1000), "::ffff:zz"} {
		if got := r.Lookup(in); got != (Info{Class: ClassUnknown}) {
			t.Errorf("Lookup(%q) = %+v, want only class unknown", in, got)
		}
	}
}

func TestMissingDatabasesLeaveFieldsEmpty(t *testing.T) {
	city, asn := testDBs(t)

	none, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if got := none.Lookup("192.0.2.10"); got != (Info{IP: "192.0.2.10", Class: ClassUnknown}) {
		t.Errorf("no databases: %+v", got)
	}
	if got := none.Lookup("10.0.0.1"); got.Class != ClassPrivate {
		t.Errorf("no databases: private still classified, got %+v", got)
	}

	cityOnly, err := Open(Options{CityDB: city})
	if err != nil {
		t.Fatal(err)
	}
	defer cityOnly.Close()
	got := cityOnly.Lookup("192.0.2.10")
	if got.Country != "Germany" || got.ASN != 0 || got.Class != ClassUnknown {
		t.Errorf("city only: %+v", got)
	}

	asnOnly, err := Open(Options{ASNDB: asn})
	if err != nil {
		t.Fatal(err)
	}
	defer asnOnly.Close()
	got = asnOnly.Lookup("198.51.100.7")
	if got.Country != "" || got.ASN != 64500 || got.Class != ClassResidential {
		t.Errorf("asn only: %+v", got)
	}
}

func TestOpenErrorsNameFileAndKind(t *testing.T) {
	city, asn := testDBs(t)
	missing := filepath.Join(t.TempDir(), "nope.mmdb")
	garbage := filepath.Join(t.TempDir(), "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a maxmind database"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    Options
		want []string
	}{
		{"missing city", Options{CityDB: missing}, []string{missing, "GeoLite2-City.mmdb"}},
		{"missing asn", Options{ASNDB: missing}, []string{missing, "GeoLite2-ASN.mmdb"}},
		{"garbage city", Options{CityDB: garbage}, []string{garbage, "GeoLite2-City.mmdb"}},
		{"swapped city", Options{CityDB: asn}, []string{asn, "GeoLite2-ASN", "GeoLite2-City.mmdb"}},
		{"swapped asn", Options{CityDB: city, ASNDB: city}, []string{city, "GeoLite2-ASN.mmdb"}},
	}
	for _, c := range cases {
		r, err := Open(c.o)
		if err == nil {
			r.Close()
			t.Errorf("%s: Open succeeded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestHostingClass(t *testing.T) {
	cases := []struct {
		asn  uint32
		org  string
		want string
	}{
		{16509, "AMAZON-02", ClassHosting},
		{15169, "GOOGLE", ClassHosting},
		{24940, "Hetzner Online GmbH", ClassHosting},
		{396356, "Latitude.sh", ClassHosting},
		{64500, "Acme Cloud Services", ClassHosting},
		{64500, "Example DataCenter BV", ClassHosting},
		{64500, "Nordic Colocation AB", ClassHosting},
		{64500, "Deutsche Telekom AG", ClassResidential},
		{64500, "", ClassResidential},
		{0, "Some Hosting", ClassUnknown},
	}
	for _, c := range cases {
		if got := HostingClass(c.asn, c.org); got != c.want {
			t.Errorf("HostingClass(%d, %q) = %q, want %q", c.asn, c.org, got, c.want)
		}
	}
}

func FuzzLookup(f *testing.F) {
	r := openTest(f)
	for _, s := range []string{"192.0.2.10", "2001:db8::1", "::ffff:198.51.100.1", "[fe80::1%eth0]", "10.0.0.1", "", "x", "1.2.3.4.5", "::", "255.255.255.255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := r.Lookup(s)
		switch got.Class {
		case ClassHosting, ClassResidential, ClassPrivate, ClassLoopback, ClassUnknown:
		default:
			t.Fatalf("Lookup(%q) class %q", s, got.Class)
		}
		if got.Class != ClassUnknown && got.IP == "" {
			t.Fatalf("Lookup(%q) = %+v: classified without an IP", s, got)
		}
	})
}
