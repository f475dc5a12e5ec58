package emitter

import "fmt"

// Constant returns the init code of a contract that answers every call
// with ret, whatever the calldata: the SSV devnet deploys one as the
// implementation its Upgraded log names, answering getVersion() with the
// ABI-encoded version string, as SSVNetwork's implementations do (their
// getVersion is pure, so it answers on the implementation's own address).
//
//	61 LLLL  PUSH2 len(ret)      [len]
//	61 OOOO  PUSH2 data          [data len]     ret starts after these 15 bytes
//	60 00    PUSH1 0             [0 data len]
//	39       CODECOPY            []             memory[0:len] = code[data:data+len]
//	61 LLLL  PUSH2 len(ret)      [len]
//	60 00    PUSH1 0             [0 len]
//	f3       RETURN                             return memory[0:len]
//	data:    ret
func Constant(ret []byte) ([]byte, error) {
	n := len(ret)
	var a asm
	a.op(opPUSH2, byte(n>>8), byte(n))
	a.pushLabel("data")
	a.push1(0)
	a.op(opCODECOPY)
	a.op(opPUSH2, byte(n>>8), byte(n))
	a.push1(0)
	a.op(opRETURN)
	a.label("data")
	code, _, err := a.assemble()
	if err != nil {
		return nil, err
	}
	if len(code)+n > 0xffff {
		return nil, fmt.Errorf("emitter: a constant of %d bytes does not fit PUSH2 lengths", n)
	}
	return initCode(append(code, ret...)), nil
}
