// Package emitter is a contract of valtrack's own, in hand-assembled EVM
// bytecode, that emits one log with the topics and data its calldata
// gives. The SSV devnet deploys it and sends it the SSVNetwork events,
// ABI-encoded, so that a node's eth_getLogs returns logs as the real
// contract's would: one address for all, the events' topics, their data.
//
// # Calldata
//
//	byte 0              n, the number of topics, 0 to 4
//	bytes 1 … 32n       the n topics, 32 bytes each, topic0 first
//	bytes 1+32n …       the log's data, any length (0 included)
//
// The contract emits LOGn(data, topics…) and stops. It reverts, with no
// return data, when n > 4, when the calldata is shorter than 1+32n bytes
// (empty calldata included) and when the call carries ether. It has no
// storage and no other entry point.
//
// # Runtime code
//
// Listing(Runtime), with the stack after each instruction (top first;
// n = topic count, off = 1+32n, cds = calldata size, size = cds-off):
//
//	  00  34       CALLVALUE              [wei]
//	  01  61004d   PUSH2 revert           [revert wei]
//	  04  57       JUMPI                  []              ether sent: revert
//	  05  6000     PUSH1 0x00             [0]
//	  07  35       CALLDATALOAD           [w]             w = calldata[0:32]
//	  08  60f8     PUSH1 0xf8             [248 w]
//	  0a  1c       SHR                    [n]             n = w >> 248, the first byte
//	  0b  6005     PUSH1 0x05             [5 n]
//	  0d  81       DUP2                   [n 5 n]
//	  0e  10       LT                     [n<5 n]
//	  0f  15       ISZERO                 [n>4 n]
//	  10  61004d   PUSH2 revert
//	  13  57       JUMPI                  [n]             more than 4 topics: revert
//	  14  80       DUP1                   [n n]
//	  15  6005     PUSH1 0x05             [5 n n]
//	  17  1b       SHL                    [32n n]
//	  18  6001     PUSH1 0x01             [1 32n n]
//	  1a  01       ADD                    [off n]
//	  1b  80       DUP1                   [off off n]
//	  1c  36       CALLDATASIZE           [cds off off n]
//	  1d  10       LT                     [cds<off off n]
//	  1e  61004d   PUSH2 revert
//	  21  57       JUMPI                  [off n]         topics cut short: revert
//	  22  80       DUP1                   [off off n]
//	  23  36       CALLDATASIZE           [cds off off n]
//	  24  03       SUB                    [size off n]
//	  25  90       SWAP1                  [off size n]
//	  26  81       DUP2                   [size off size n]
//	  27  90       SWAP1                  [off size size n]
//	  28  6000     PUSH1 0x00             [0 off size size n]
//	  2a  37       CALLDATACOPY           [size n]        memory[0:size] = calldata[off:]
//	  2b  90       SWAP1                  [n size]
//	  2c  6005     PUSH1 0x05             [5 n size]
//	  2e  02       MUL                    [5n size]
//	  2f  610034   PUSH2 table            [table 5n size]
//	  32  01       ADD                    [table+5n size]
//	  33  56       JUMP                   [size]          to entry n of the jump table
//	table:                                                five entries of 5 bytes
//	  34  5b       JUMPDEST               entry 0
//	  35  610052   PUSH2 log0
//	  38  56       JUMP
//	  39  5b       JUMPDEST               entry 1
//	  3a  610058   PUSH2 log1
//	  3d  56       JUMP
//	  3e  5b       JUMPDEST               entry 2
//	  3f  610061   PUSH2 log2
//	  42  56       JUMP
//	  43  5b       JUMPDEST               entry 3
//	  44  61006d   PUSH2 log3
//	  47  56       JUMP
//	  48  5b       JUMPDEST               entry 4
//	  49  61007c   PUSH2 log4
//	  4c  56       JUMP
//	revert:
//	  4d  5b       JUMPDEST
//	  4e  6000     PUSH1 0x00             [0]
//	  50  80       DUP1                   [0 0]
//	  51  fd       REVERT                 nothing returned
//	log0:
//	  52  5b       JUMPDEST               [size]
//	  53  80       DUP1                   [size size]
//	  54  6000     PUSH1 0x00             [0 size size]
//	  56  a0       LOG0                   [size]          log memory[0:size]
//	  57  00       STOP
//	log1:
//	  58  5b       JUMPDEST               [size]
//	  59  6001     PUSH1 0x01
//	  5b  35       CALLDATALOAD           [t0 size]       t0 = calldata[1:33]
//	  5c  81       DUP2                   [size t0 size]
//	  5d  6000     PUSH1 0x00             [0 size t0 size]
//	  5f  a1       LOG1
//	  60  00       STOP
//	log2:
//	  61  5b       JUMPDEST               [size]
//	  62  6021     PUSH1 0x21
//	  64  35       CALLDATALOAD           [t1 size]       t1 = calldata[33:65]
//	  65  6001     PUSH1 0x01
//	  67  35       CALLDATALOAD           [t0 t1 size]
//	  68  82       DUP3                   [size t0 t1 size]
//	  69  6000     PUSH1 0x00             [0 size t0 t1 size]
//	  6b  a2       LOG2
//	  6c  00       STOP
//	log3:
//	  6d  5b       JUMPDEST               [size]
//	  6e  6041     PUSH1 0x41
//	  70  35       CALLDATALOAD           [t2 size]       t2 = calldata[65:97]
//	  71  6021     PUSH1 0x21
//	  73  35       CALLDATALOAD           [t1 t2 size]
//	  74  6001     PUSH1 0x01
//	  76  35       CALLDATALOAD           [t0 t1 t2 size]
//	  77  83       DUP4                   [size t0 t1 t2 size]
//	  78  6000     PUSH1 0x00             [0 size t0 t1 t2 size]
//	  7a  a3       LOG3
//	  7b  00       STOP
//	log4:
//	  7c  5b       JUMPDEST               [size]
//	  7d  6061     PUSH1 0x61
//	  7f  35       CALLDATALOAD           [t3 size]       t3 = calldata[97:129]
//	  80  6041     PUSH1 0x41
//	  82  35       CALLDATALOAD           [t2 t3 size]
//	  83  6021     PUSH1 0x21
//	  85  35       CALLDATALOAD           [t1 t2 t3 size]
//	  86  6001     PUSH1 0x01
//	  88  35       CALLDATALOAD           [t0 t1 t2 t3 size]
//	  89  84       DUP5                   [size t0 … t3 size]
//	  8a  6000     PUSH1 0x00             [0 size t0 … t3 size]
//	  8c  a4       LOG4
//	  8d  00       STOP
//
// 142 bytes in all (RuntimeHex in the tests pins them, so that this
// listing and the code cannot drift apart). The jump table needs a
// JUMPDEST at each entry because JUMP may only land on one; its entries
// are all 5 bytes so that entry n is at table+5n.
//
// # Init code
//
// Init deploys the runtime: it copies the 142 bytes that follow its own 13
// to memory and returns them.
//
//	00  61008e   PUSH2 0x008e           [142]
//	03  80       DUP1                   [142 142]
//	04  61000d   PUSH2 0x000d           [13 142 142]
//	07  6000     PUSH1 0x00             [0 13 142 142]
//	09  39       CODECOPY               [142]           memory[0:142] = code[13:155]
//	0a  6000     PUSH1 0x00             [0 142]
//	0c  f3       RETURN                                 the deployed code is memory[0:142]
//
// The program is written with a small two-pass assembler (asm.go) so that
// no jump destination is counted by hand.
package emitter
