package emitter

import "fmt"

// The EVM opcodes the emitter uses (Ethereum yellow paper, appendix H).
// Stack effects below are written top first: [a b] means a on top.
const (
	opSTOP         = 0x00 // halt, success
	opADD          = 0x01 // [a b] → [a+b]
	opMUL          = 0x02 // [a b] → [a*b]
	opSUB          = 0x03 // [a b] → [a-b]
	opLT           = 0x10 // [a b] → [a<b]
	opISZERO       = 0x15 // [a] → [a==0]
	opSHL          = 0x1b // [shift v] → [v<<shift]
	opSHR          = 0x1c // [shift v] → [v>>shift]
	opCALLVALUE    = 0x34 // [] → [wei sent]
	opCALLDATALOAD = 0x35 // [off] → [calldata[off:off+32], zero-padded]
	opCALLDATASIZE = 0x36 // [] → [len(calldata)]
	opCALLDATACOPY = 0x37 // [memOff dataOff size] → []
	opCODECOPY     = 0x39 // [memOff codeOff size] → []
	opJUMP         = 0x56 // [dest] → [], dest must be a JUMPDEST
	opJUMPI        = 0x57 // [dest cond] → [], jumps when cond ≠ 0
	opJUMPDEST     = 0x5b // a valid jump target; no effect
	opPUSH1        = 0x60 // [] → [next byte]
	opPUSH2        = 0x61 // [] → [next 2 bytes]
	opDUP1         = 0x80 // [a] → [a a]; DUPn = 0x7f+n copies the n-th item
	opSWAP1        = 0x90 // [a b] → [b a]
	opLOG0         = 0xa0 // [memOff size t0 … t(n-1)] → [], LOGn = 0xa0+n
	opRETURN       = 0xf3 // [memOff size] → [], success with memory[memOff:memOff+size]
	opREVERT       = 0xfd // [memOff size] → [], failure
)

// item is one piece of a program: an opcode with its immediate bytes, a
// label's definition, or a PUSH2 of a label's address.
type item struct {
	code  []byte // opcode and immediates (nil for a label or a reference)
	label string // defined here (when ref is false) or pushed (ref true)
	ref   bool
}

// asm is a two-pass assembler with labels: enough for the emitter's few
// dozen instructions, so that no jump destination is counted by hand.
type asm struct{ items []item }

func (a *asm) op(code ...byte)      { a.items = append(a.items, item{code: code}) }
func (a *asm) push1(v byte)         { a.op(opPUSH1, v) }
func (a *asm) label(name string)    { a.items = append(a.items, item{label: name}) }
func (a *asm) pushLabel(l string)   { a.items = append(a.items, item{label: l, ref: true}) }
func (a *asm) jumpdest(name string) { a.label(name); a.op(opJUMPDEST) }

// assemble resolves the labels (every reference is a PUSH2, 3 bytes) and
// returns the bytecode and each label's address.
func (a *asm) assemble() ([]byte, map[string]int, error) {
	addr := map[string]int{}
	pc := 0
	for _, it := range a.items {
		switch {
		case it.ref:
			pc += 3
		case it.code == nil:
			if _, dup := addr[it.label]; dup {
				return nil, nil, fmt.Errorf("emitter: label %q defined twice", it.label)
			}
			addr[it.label] = pc
		default:
			pc += len(it.code)
		}
	}
	if pc > 0xffff {
		return nil, nil, fmt.Errorf("emitter: program of %d bytes does not fit PUSH2 addresses", pc)
	}
	out := make([]byte, 0, pc)
	for _, it := range a.items {
		switch {
		case it.ref:
			dest, ok := addr[it.label]
			if !ok {
				return nil, nil, fmt.Errorf("emitter: label %q used but not defined", it.label)
			}
			out = append(out, opPUSH2, byte(dest>>8), byte(dest))
		case it.code != nil:
			out = append(out, it.code...)
		}
	}
	return out, addr, nil
}
