/*
 * Real-mode entry for C compiled with gcc -m16. quanta sets CS = DS = ES =
 * SS = load address >> 4 and SP = 0, so the stack is the top of the image's
 * 64 KiB segment and the image is linked at 0 (segment-relative).
 *
 * gcc -m16 emits 32-bit code with operand/address-size prefixes: it expects
 * a 32-bit return address (calll/retl) and uses %esp in addresses. The
 * upper half of ESP is 0 at entry and real-mode pushes only change SP, so
 * the first calll leaves ESP = 0xFFFC and every stack address stays inside
 * the 64 KiB segment.
 */
	.code16
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	mov	%sp, q_initial_sp		/* 0: top of the segment */
	cld
	/* Zero .bss (a flat image does not carry it); ES = DS = our segment. */
	mov	$__bss_start, %di
	mov	$__bss_end, %cx
	sub	%di, %cx
	xor	%al, %al
	rep stosb
	calll	main
	/* main's return value is the VM's exit status: 0 halts, anything else
	 * goes through the native exit call (see start64.S). In real mode the
	 * block's guest-physical address is SS * 16 + SP. */
	test	%eax, %eax
	jz	1f
	sub	$8, %sp
	mov	%sp, %bx
	movl	%eax, (%bx)			/* status (SS = DS) */
	movl	$0, 4(%bx)			/* ret */
	xor	%eax, %eax
	mov	%ss, %ax
	shl	$4, %eax
	movzwl	%sp, %ecx
	add	%ecx, %eax
	mov	$0x501, %dx
	outl	%eax, %dx
1:	hlt					/* HLT ends the VM */
	jmp	1b
	.size _start, . - _start

	/* Initial SP (16-bit value, upper half stays 0). */
	.data
	.balign 4
	.globl q_initial_sp
q_initial_sp:
	.long 0

	.section .note.GNU-stack, "", @progbits
