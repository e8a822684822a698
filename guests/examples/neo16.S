/*
 * neo16: the Matrix assignment's real-mode guest. It counts forever and
 * writes every value of its counter to port 0x10 (QUANTA_PORT_COUNTER_*), so
 * each loop iteration is one I/O exit; quanta's work counter device records
 * the writes and the report shows them next to the VM's time share.
 */
	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	xor	%ax, %ax
1:	out	%ax, $0x10
	inc	%ax
	jmp	1b

	.section .note.GNU-stack, "", @progbits
