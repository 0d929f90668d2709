#include "textflag.h"

// func pairScanAVX2(a *byte, d, n int, c1, c2 byte) (at int, mask uint32)
TEXT ·pairScanAVX2(SB), NOSPLIT, $0-44
	MOVQ    a+0(FP), SI
	MOVQ    d+8(FP), DX
	MOVQ    n+16(FP), CX
	MOVBQZX c1+24(FP), AX
	VMOVQ   AX, X0
	VPBROADCASTB X0, Y0
	MOVBQZX c2+25(FP), AX
	VMOVQ   AX, X1
	VPBROADCASTB X1, Y1
	LEAQ    (SI)(DX*1), R9 // the second byte's positions
	ANDQ    $-32, CX       // the end of the whole blocks
	XORQ    DI, DI

loop:
	CMPQ     DI, CX
	JAE      none
	VMOVDQU  (SI)(DI*1), Y2
	VMOVDQU  (R9)(DI*1), Y3
	VPCMPEQB Y0, Y2, Y2
	VPCMPEQB Y1, Y3, Y3
	VPAND    Y2, Y3, Y3
	VPMOVMSKB Y3, AX
	TESTL    AX, AX
	JNZ      found
	ADDQ     $32, DI
	JMP      loop

found:
	MOVQ DI, at+32(FP)
	MOVL AX, mask+40(FP)
	VZEROUPPER
	RET

none:
	MOVQ DI, at+32(FP)
	MOVL $0, mask+40(FP)
	VZEROUPPER
	RET
