/*
 * spin16: real-mode guest that never exits after one line (for scheduler
 * and timeout tests): the VM must be stopped from outside.
 */
	.code16
	.set	PORT_SERIAL, 0xE9	/* QUANTA_PORT_SERIAL in quanta/abi.h */

	.section .text.start, "ax"
	.globl _start
_start:
	cld
	mov	$msg, %si
	mov	$PORT_SERIAL, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	jmp	2b			/* `jmp $`: no exits from here on */

	.section .rodata
msg:	.asciz	"spinning\n"

	.section .note.GNU-stack, "", @progbits
