package emitter

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// MaxTopics is the most topics an EVM log has (LOG4).
const MaxTopics = 4

// Runtime is the contract's deployed code; Init deploys it.
var (
	Runtime []byte
	Init    []byte
	// Labels are the runtime's label addresses (entry, table, log0…log4,
	// revert), for the listing and its test.
	Labels map[string]int
)

func init() {
	var err error
	Runtime, Labels, err = runtime()
	if err != nil {
		panic(err) // a fixed program: caught by every test
	}
	Init = initCode(Runtime)
}

// runtime assembles the program the package comment describes.
func runtime() ([]byte, map[string]int, error) {
	var a asm
	a.op(opCALLVALUE)
	a.pushLabel("revert")
	a.op(opJUMPI) // ether sent: revert

	a.push1(0)
	a.op(opCALLDATALOAD) // [word]
	a.push1(248)
	a.op(opSHR) // [n]: the first calldata byte
	a.push1(MaxTopics + 1)
	a.op(opDUP1 + 1) // DUP2: [n 5 n]
	a.op(opLT)       // [n<5 n]
	a.op(opISZERO)   // [n>4 n]
	a.pushLabel("revert")
	a.op(opJUMPI) // [n]

	a.op(opDUP1)
	a.push1(5)
	a.op(opSHL) // [32n n]
	a.push1(1)
	a.op(opADD) // [off n]
	a.op(opDUP1)
	a.op(opCALLDATASIZE)
	a.op(opLT) // [cds<off off n]
	a.pushLabel("revert")
	a.op(opJUMPI) // [off n]

	a.op(opDUP1)
	a.op(opCALLDATASIZE)
	a.op(opSUB)      // [size off n]
	a.op(opSWAP1)    // [off size n]
	a.op(opDUP1 + 1) // DUP2: [size off size n]
	a.op(opSWAP1)    // [off size size n]
	a.push1(0)
	a.op(opCALLDATACOPY) // [size n]; memory[0:size] = data

	a.op(opSWAP1) // [n size]
	a.push1(5)
	a.op(opMUL) // [5n size]
	a.pushLabel("table")
	a.op(opADD)
	a.op(opJUMP) // [size]

	// The jump table: entry n (5 bytes) jumps on to logn.
	a.label("table")
	for n := 0; n <= MaxTopics; n++ {
		a.op(opJUMPDEST)
		a.pushLabel(fmt.Sprintf("log%d", n))
		a.op(opJUMP)
	}

	a.jumpdest("revert")
	a.push1(0)
	a.op(opDUP1)   // [0 0]
	a.op(opREVERT) // revert with no data

	for n := 0; n <= MaxTopics; n++ {
		a.jumpdest(fmt.Sprintf("log%d", n)) // [size]
		for i := n - 1; i >= 0; i-- {
			a.push1(byte(1 + 32*i))
			a.op(opCALLDATALOAD) // [t_i … t_(n-1) size]
		}
		a.op(opDUP1 + byte(n)) // DUP(n+1): [size t0 … size]
		a.push1(0)             // [0 size t0 … t(n-1) size]
		a.op(opLOG0 + byte(n))
		a.op(opSTOP)
	}
	return a.assemble()
}

// initCode returns the code that deploys runtime:
//
//	61 LLLL  PUSH2 len(runtime)   [len]
//	80       DUP1                 [len len]
//	61 OOOO  PUSH2 13             [13 len len]   runtime starts after these 13 bytes
//	60 00    PUSH1 0              [0 13 len len]
//	39       CODECOPY             [len]          memory[0:len] = code[13:13+len]
//	60 00    PUSH1 0              [0 len]
//	f3       RETURN                              deployed code = memory[0:len]
func initCode(runtime []byte) []byte {
	const head = 13
	n := len(runtime)
	code := []byte{
		opPUSH2, byte(n >> 8), byte(n),
		opDUP1,
		opPUSH2, 0, head,
		opPUSH1, 0,
		opCODECOPY,
		opPUSH1, 0,
		opRETURN,
	}
	return append(code, runtime...)
}

// ErrTooManyTopics is returned by Calldata for more than MaxTopics topics.
var ErrTooManyTopics = errors.New("emitter: an EVM log has at most 4 topics")

// Calldata is the input of a call that emits one log with these topics
// (topic0 first) and data.
func Calldata(topics []common.Hash, data []byte) ([]byte, error) {
	if len(topics) > MaxTopics {
		return nil, fmt.Errorf("%w, got %d: put the rest in the data, as the ABI does for non-indexed arguments", ErrTooManyTopics, len(topics))
	}
	out := make([]byte, 0, 1+32*len(topics)+len(data))
	out = append(out, byte(len(topics)))
	for _, t := range topics {
		out = append(out, t[:]...)
	}
	return append(out, data...), nil
}

// Gas is a gas limit sufficient for a call with this calldata: the
// intrinsic cost (with the calldata floor of EIP-7623 at its highest), the
// log (375 + 375 per topic + 8 per data byte), memory and the few opcodes,
// with room to spare.
func Gas(calldata []byte) uint64 {
	n := uint64(len(calldata))
	words := (n + 31) / 32
	return 21000 + 40*n + 375*(MaxTopics+1) + 8*n + 3*words + words*words/512 + 3*words + 5000
}
