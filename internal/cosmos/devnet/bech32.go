package devnet

import "strings"

// bech32 is a BIP-173 bech32 string of data under hrp: how cosmos-sdk
// writes addresses (cosmosvaloper1…). The devnet needs only the encoder,
// for its validators' operator addresses; nothing here is read back.
func bech32(hrp string, data []byte) string { return bech32Of(hrp, toFiveBits(data)) }

// bech32Of is the bech32 string of 5-bit values.
func bech32Of(hrp string, five []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	values := append(hrpExpand(hrp), five...)
	mod := polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ 1
	var b strings.Builder
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range five {
		b.WriteByte(charset[v])
	}
	for i := range 6 {
		b.WriteByte(charset[(mod>>(5*(5-i)))&31])
	}
	return b.String()
}

// toFiveBits regroups bytes into 5-bit values, the last one zero-padded.
func toFiveBits(data []byte) []byte {
	var out []byte
	acc, bits := uint32(0), 0
	for _, x := range data {
		acc = acc<<8 | uint32(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits))&31)
	}
	return out
}

func hrpExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// polymod is BIP-173's checksum polynomial over GF(32).
func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
