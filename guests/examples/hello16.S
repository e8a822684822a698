/*
 * hello16: the smallest real-mode guest, pure assembly so it depends on
 * nothing but OUT and HLT. Linked at 0: `msg` is an offset in DS, which
 * quanta sets equal to CS, so the image works at any --load address that
 * is a multiple of 16 (cs base follows the load address).
 */
	.code16
	.set	PORT_SERIAL, 0xE9	/* QUANTA_PORT_SERIAL in quanta/abi.h */

	.section .text.start, "ax"
	.globl _start
_start:
	cld
	mov	$msg, %si
	mov	$PORT_SERIAL, %dx
1:	lodsb				/* one OUT per byte, no string I/O */
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	hlt				/* HLT ends the VM */
	jmp	2b

	.section .rodata
msg:	.asciz	"Hello from real mode\n"

	.section .note.GNU-stack, "", @progbits
