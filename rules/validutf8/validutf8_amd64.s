#include "textflag.h"

// The three tables of the lookup algorithm (validutf8.go), each twice: one
// copy for each 128-bit lane, in which VPSHUFB looks up. The bits name the
// errors a pair of bytes can show: 0x01 a lead byte not followed by a
// continuation, 0x02 a continuation after ASCII, 0x04 an overlong three-byte
// form, 0x08 above U+10FFFF, 0x10 a surrogate, 0x20 an overlong two-byte
// form, 0x40 an overlong four-byte form or a lead byte from F5 on, 0x80 two
// continuations in a row (an error unless the bytes before make it one).
// byte1High: by the high nibble of the first byte of a pair.
DATA byte1High<>+0(SB)/8, $0x0202020202020202
DATA byte1High<>+8(SB)/8, $0x4915012180808080
DATA byte1High<>+16(SB)/8, $0x0202020202020202
DATA byte1High<>+24(SB)/8, $0x4915012180808080
GLOBL byte1High<>(SB), RODATA|NOPTR, $32
// byte1Low: by its low nibble.
DATA byte1Low<>+0(SB)/8, $0xcbcbcb8b8383a3e7
DATA byte1Low<>+8(SB)/8, $0xcbcbdbcbcbcbcbcb
DATA byte1Low<>+16(SB)/8, $0xcbcbcb8b8383a3e7
DATA byte1Low<>+24(SB)/8, $0xcbcbdbcbcbcbcbcb
GLOBL byte1Low<>(SB), RODATA|NOPTR, $32
// byte2High: by the high nibble of the second byte.
DATA byte2High<>+0(SB)/8, $0x0101010101010101
DATA byte2High<>+8(SB)/8, $0x01010101babaaee6
DATA byte2High<>+16(SB)/8, $0x0101010101010101
DATA byte2High<>+24(SB)/8, $0x01010101babaaee6
GLOBL byte2High<>(SB), RODATA|NOPTR, $32

// func validAVX2(p *byte, n int) bool
TEXT ·validAVX2(SB), NOSPLIT, $0-17
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX // the end
	VPXOR Y1, Y1, Y1 // the block before: none, as if ASCII
	VPXOR Y2, Y2, Y2 // the errors found
	VMOVDQU byte1High<>(SB), Y3
	VMOVDQU byte1Low<>(SB), Y4
	VMOVDQU byte2High<>(SB), Y5
	MOVQ $0x0f, AX
	VMOVQ AX, X6
	VPBROADCASTB X6, Y6 // low nibbles
	MOVQ $0x60, AX // 0xe0 - 0x80: a byte from 0xe0 on, less this, keeps its high bit
	VMOVQ AX, X11
	VPBROADCASTB X11, Y11
	MOVQ $0x70, AX // 0xf0 - 0x80
	VMOVQ AX, X12
	VPBROADCASTB X12, Y12
	MOVQ $0x80, AX
	VMOVQ AX, X13
	VPBROADCASTB X13, Y13

loop:
	CMPQ SI, CX
	JAE  done
	VMOVDQU (SI), Y0
	// Y7: the high half of the block before, then the low half of this one,
	// so that VPALIGNR can shift bytes in across the lanes.
	VPERM2I128 $0x21, Y0, Y1, Y7
	VPALIGNR   $15, Y7, Y0, Y8 // the byte before each byte
	VPSRLW     $4, Y8, Y9
	VPAND      Y6, Y9, Y9
	VPSHUFB    Y9, Y3, Y9
	VPAND      Y6, Y8, Y10
	VPSHUFB    Y10, Y4, Y10
	VPAND      Y10, Y9, Y9
	VPSRLW     $4, Y0, Y10
	VPAND      Y6, Y10, Y10
	VPSHUFB    Y10, Y5, Y10
	VPAND      Y10, Y9, Y9 // the errors of each pair, and 0x80 for two continuations
	VPALIGNR   $14, Y7, Y0, Y10 // two bytes back: from 0xe0 on, this byte continues
	VPSUBUSB   Y11, Y10, Y10
	VPALIGNR   $13, Y7, Y0, Y8 // three bytes back: from 0xf0 on, this byte continues
	VPSUBUSB   Y12, Y8, Y8
	VPOR       Y8, Y10, Y10
	VPAND      Y13, Y10, Y10
	VPXOR      Y10, Y9, Y9 // two continuations where they must be cancel out
	VPOR       Y9, Y2, Y2
	VMOVDQU    Y0, Y1
	ADDQ       $32, SI
	JMP        loop

done:
	VPTEST Y2, Y2
	SETEQ  ret+16(FP)
	VZEROUPPER
	RET
