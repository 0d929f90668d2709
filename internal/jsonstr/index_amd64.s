#include "textflag.h"

// func indexAVX2(p *byte, n int, nonASCII uint32) int
TEXT ·indexAVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL nonASCII+16(FP), DX
	MOVQ SI, DI
	ANDQ $-32, CX
	ADDQ SI, CX // the end of the whole blocks
	MOVQ $0x22, AX // the quote
	VMOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ $0x5c, AX // the backslash
	VMOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVQ $0x1f, AX // the last control character
	VMOVQ AX, X3
	VPBROADCASTB X3, Y3

loop:
	CMPQ SI, CX
	JAE  none
	VMOVDQU  (SI), Y0
	VPCMPEQB Y0, Y1, Y4 // quotes
	VPCMPEQB Y0, Y2, Y5 // backslashes
	VPMINUB  Y0, Y3, Y6
	VPCMPEQB Y0, Y6, Y6 // bytes at most 0x1f
	VPOR     Y4, Y5, Y4
	VPOR     Y4, Y6, Y4
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y0, BX    // bytes at or above 0x80
	ANDL     DX, BX
	ORL      BX, AX
	TESTL    AX, AX
	JNZ      found
	ADDQ     $32, SI
	JMP      loop

found:
	BSFL AX, AX
	SUBQ DI, SI
	ADDQ AX, SI
	MOVQ SI, ret+24(FP)
	VZEROUPPER
	RET

none:
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	VZEROUPPER
	RET
