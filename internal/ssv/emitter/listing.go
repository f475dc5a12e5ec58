package emitter

import (
	"fmt"
	"sort"
	"strings"
)

var opNames = map[byte]string{
	opSTOP: "STOP", opADD: "ADD", opMUL: "MUL", opSUB: "SUB", opLT: "LT", opISZERO: "ISZERO",
	opSHL: "SHL", opSHR: "SHR", opCALLVALUE: "CALLVALUE", opCALLDATALOAD: "CALLDATALOAD",
	opCALLDATASIZE: "CALLDATASIZE", opCALLDATACOPY: "CALLDATACOPY", opCODECOPY: "CODECOPY",
	opJUMP: "JUMP", opJUMPI: "JUMPI", opJUMPDEST: "JUMPDEST", opRETURN: "RETURN", opREVERT: "REVERT",
}

// Listing disassembles code (Runtime or Init) into one line per
// instruction: address, bytes, mnemonic, and the labels of Labels where
// code is Runtime. The package comment's listing is its output.
func Listing(code []byte) string {
	at := map[int][]string{}
	if string(code) == string(Runtime) {
		for l, pc := range Labels {
			at[pc] = append(at[pc], l)
		}
	}
	var b strings.Builder
	for pc := 0; pc < len(code); {
		if ls := at[pc]; len(ls) > 0 {
			sort.Strings(ls)
			fmt.Fprintf(&b, "%s:\n", strings.Join(ls, ", "))
		}
		op := code[pc]
		name, width := opName(op)
		end := min(pc+1+width, len(code))
		fmt.Fprintf(&b, "  %02x  %-8x %s", pc, code[pc:end], name)
		if width > 0 {
			fmt.Fprintf(&b, " 0x%x", code[pc+1:end])
		}
		b.WriteByte('\n')
		pc = end
	}
	return b.String()
}

func opName(op byte) (string, int) {
	switch {
	case op >= opPUSH1 && op <= 0x7f:
		n := int(op-opPUSH1) + 1
		return fmt.Sprintf("PUSH%d", n), n
	case op >= opDUP1 && op <= 0x8f:
		return fmt.Sprintf("DUP%d", op-opDUP1+1), 0
	case op >= opSWAP1 && op <= 0x9f:
		return fmt.Sprintf("SWAP%d", op-opSWAP1+1), 0
	case op >= opLOG0 && op <= opLOG0+MaxTopics:
		return fmt.Sprintf("LOG%d", op-opLOG0), 0
	}
	if n, ok := opNames[op]; ok {
		return n, 0
	}
	return fmt.Sprintf("INVALID(0x%02x)", op), 0
}
