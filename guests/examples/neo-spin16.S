/*
 * neo-spin16: the Matrix variant that never exits on its own: it counts in
 * a register and makes no I/O at all, so only the slice timer's kick can
 * take the CPU away from it (the assignment's "vulnerability" under a
 * switch-on-I/O policy).
 */
	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	xor	%eax, %eax
1:	inc	%eax
	jmp	1b

	.section .note.GNU-stack, "", @progbits
