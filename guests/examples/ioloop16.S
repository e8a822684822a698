/*
 * ioloop16: exactly 20000 OUTs to port 0x10, then HLT. The benchmark runs
 * this same image under quanta and under a minimal KVM_RUN loop to compare
 * the cost of one I/O exit.
 */
	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$20000, %cx
	xor	%ax, %ax
1:	out	%ax, $0x10
	inc	%ax
	loop	1b
	hlt
	jmp	_start

	.section .note.GNU-stack, "", @progbits
