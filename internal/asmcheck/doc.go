// Package asmcheck holds a test of the module's assembly: a function that
// uses the 256-bit YMM registers must not execute legacy-SSE instructions
// (non-VEX) on the vector registers, and must clear the upper halves
// (VZEROUPPER) before it returns to Go code, whose floating-point and
// copying instructions are legacy SSE. With the upper halves dirty, such an
// instruction pays a state transition; on a Zen 3 guest it cost about 270 ns
// per call of the request decoder's string scan, which was then 17.6 % of the
// saturated service's CPU (docs/performance.md, twenty-first session).
package asmcheck
