/*
 * 64-bit entry. quanta enters here in long mode with CS = 0x18, flat data
 * segments, identity-mapped memory and rsp = memory size - 64 KiB, so no
 * stack setup is needed. Placed first by guest64.ld (section .text.start),
 * which makes it offset 0 of a flat image.
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	mov	%rsp, q_initial_sp(%rip)	/* before anything is pushed */
	/* Zero .bss: a flat image does not carry it, an ELF loader may not. */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	cld
	rep stosb
	and	$-16, %rsp			/* SysV alignment at the call */
	call	main
	/* main's return value is the VM's exit status: 0 halts (HLT ends the
	 * VM, reported as halted), anything else goes through the native exit
	 * call (abi.h: QUANTA_HC_EXIT on port QUANTA_PORT_HC_BASE + 1 = 0x501,
	 * block struct quanta_hc_exit { status, ret }, guest-physical address,
	 * identity mapped in long mode). */
	test	%eax, %eax
	jz	1f
	sub	$16, %rsp
	mov	%eax, (%rsp)			/* status */
	movl	$0, 4(%rsp)			/* ret */
	mov	%esp, %eax			/* below 4 GiB: memory is at most 8 MiB */
	mov	$0x501, %dx
	out	%eax, %dx
1:	hlt					/* HLT ends the VM */
	jmp	1b
	.size _start, . - _start

	/* In .data, not .bss: it is written before .bss is cleared. */
	.data
	.balign 8
	.globl q_initial_sp
q_initial_sp:
	.quad 0

	.section .note.GNU-stack, "", @progbits
