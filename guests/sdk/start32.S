/*
 * 32-bit entry (protected mode, paging on or off). quanta enters with
 * CS = 0x08, flat data segments and esp = memory size - 64 KiB, so no
 * stack setup is needed. Placed first by guest32.ld (section .text.start).
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	mov	%esp, q_initial_sp		/* before anything is pushed */
	/* Zero .bss: a flat image does not carry it, an ELF loader may not. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	cld
	rep stosb
	and	$-16, %esp			/* i386 SysV: 16-byte aligned call */
	call	main
	/* main's return value is the VM's exit status: 0 halts, anything else
	 * goes through the native exit call (see start64.S; flat segments and
	 * identity paging make %esp the block's guest-physical address). */
	test	%eax, %eax
	jz	1f
	sub	$16, %esp
	mov	%eax, (%esp)			/* status */
	movl	$0, 4(%esp)			/* ret */
	mov	%esp, %eax
	mov	$0x501, %dx
	out	%eax, %dx
1:	hlt					/* HLT ends the VM */
	jmp	1b
	.size _start, . - _start

	/* In .data, not .bss: it is written before .bss is cleared. */
	.data
	.balign 4
	.globl q_initial_sp
q_initial_sp:
	.long 0

	.section .note.GNU-stack, "", @progbits
