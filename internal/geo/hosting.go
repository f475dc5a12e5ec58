package geo

import "strings"

// The hosting heuristic.
//
// An address is "hosting" when its autonomous system belongs to a cloud or
// hosting provider, recognised in two ways:
//  1. its ASN is one isHostingASN lists, a curated list of the major cloud and hosting
//     networks taken from well-known public ASN assignments (the registries'
//     WHOIS records of those providers); or
//  2. its AS organization name contains one of the keywords of hasHostingKeyword (case
//     insensitive), which catches the long tail of small hosters whose names
//     say what they are.
//
// Any other address with a known ASN is "residential" (which includes
// business and mobile networks: what matters for validator intelligence is
// "not in a data centre"). Without an ASN the class stays "unknown". The
// heuristic errs towards residential for hosters with neutral names; extend
// the list when one shows up in the data.

// isHostingASN reports whether asn is one of the well-known public ASN
// assignments of cloud and hosting providers. A switch rather than a map:
// the table is constant and needs no package state.
func isHostingASN(asn uint32) bool {
	switch asn {
	case 16509, 14618, 8987, // Amazon AWS
		15169, 396982, 19527, // Google, Google Cloud
		8075, 8068, // Microsoft Azure
		24940, 213230, 212317, // Hetzner, Hetzner Cloud
		16276, 35540, // OVH
		14061, 62567, // DigitalOcean
		63949, 20940, // Linode / Akamai
		20473,                // Vultr / Choopa
		51167, 40021, 141995, // Contabo
		45102, 37963, // Alibaba Cloud
		31898,                              // Oracle Cloud
		12876,                              // Scaleway
		60781, 16265, 28753, 30633, 395954, // Leaseweb
		54825,         // Equinix Metal
		396356,        // Latitude.sh
		59642,         // Cherry Servers
		8560,          // IONOS
		132203, 45090, // Tencent Cloud
		13335,  // Cloudflare
		36351,  // IBM Cloud / SoftLayer
		9009,   // M247
		197540, // netcup
		47583,  // Hostinger
		49981,  // WorldStream
		50673,  // Serverius
		3223,   // Voxility
		29802:  // Hivelocity
		return true
	}
	return false
}

// hasHostingKeyword reports whether an organization name (lower case) says
// it is a hoster.
func hasHostingKeyword(lo string) bool {
	for _, k := range [...]string{"hosting", "cloud", "data center", "datacenter", "data centre", "server", "vps", "colo"} {
		if strings.Contains(lo, k) {
			return true
		}
	}
	return false
}

// HostingClass returns ClassHosting or ClassResidential for a known AS (asn
// != 0), ClassUnknown otherwise. See the heuristic above.
func HostingClass(asn uint32, org string) string {
	if asn == 0 {
		return ClassUnknown
	}
	if isHostingASN(asn) || hasHostingKeyword(strings.ToLower(org)) {
		return ClassHosting
	}
	return ClassResidential
}
