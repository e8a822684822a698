/*
 * quanta guest ABI: the one header shared by the hypervisor (C++) and the
 * guests (freestanding C, 16/32/64-bit). Everything a guest and quanta must
 * agree on lives here: port numbers, the guest-physical memory map, call
 * numbers and argument block layouts. Layouts use only fixed-size fields and
 * are static_asserted on both sides so a 32-bit guest and the 64-bit host
 * see the same bytes.
 */
#ifndef QUANTA_ABI_H
#define QUANTA_ABI_H

#ifdef __cplusplus
#include <cstdint>
#define QUANTA_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#include <stdint.h>
#define QUANTA_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* ---- Ports -------------------------------------------------------------- */

/* Serial console: 1-byte OUT prints, 1-byte IN reads standard input. */
#define QUANTA_PORT_SERIAL 0x00E9u

/* CS695 assignment hypercalls (fixed ABI, see docs/guest-abi.md). */
#define QUANTA_PORT_HC_PRINT_STR 0x00EAu     /* outl: 32-bit guest-virtual pointer */
#define QUANTA_PORT_HC_PRINT32 0x00EBu       /* outl: value, printed in decimal */
#define QUANTA_PORT_HC_NUM_EXITS 0x00ECu     /* inl: exits so far */
#define QUANTA_PORT_HC_EXITS_BY_TYPE 0x00EDu /* inl: guest-virtual pointer to text */
#define QUANTA_PORT_HC_GVA 0x00EEu           /* outl: guest-virtual address */
#define QUANTA_PORT_HC_HVA 0x00EFu           /* inl: low 32 bits of host address */

/* Matrix demo counters (Neo writes to 0x10, Morpheus to 0x11). */
#define QUANTA_PORT_COUNTER_NEO 0x0010u
#define QUANTA_PORT_COUNTER_MORPHEUS 0x0011u

/* mini_hypervisor file device (byte and block protocols). */
#define QUANTA_PORT_FILE 0x0278u

/* Native hypercalls: one port per call, QUANTA_PORT_HC_BASE + call number. */
#define QUANTA_PORT_HC_BASE 0x0500u

/* ---- Guest-physical memory map --------------------------------------------
 *
 *   0 ............................ image (flat default load address 0)
 *   ...            guest-usable    stack grows down from RESERVED_BASE
 *   mem - 64 KiB .................. hypervisor-reserved area (below)
 *   mem
 *
 * The reserved area is identity mapped like the rest of memory; the guest
 * must not write it. Offsets are from its base (memory size - 64 KiB).
 */
#define QUANTA_RESERVED_SIZE 0x10000u
#define QUANTA_RESERVED_GDT 0x0000u      /* GDT (flat code/data segments) */
#define QUANTA_RESERVED_SCRATCH 0x1000u  /* hypercall results (2 pages) */
#define QUANTA_RESERVED_SCRATCH_SIZE 0x2000u
#define QUANTA_RESERVED_PAGING 0x4000u   /* page tables, up to 12 pages */
#define QUANTA_RESERVED_PAGING_SIZE 0xC000u
/* An image must leave at least this much stack below the reserved area. */
#define QUANTA_MIN_STACK 0x4000u
/* Real mode: SS = CS and SP starts at 0, so the stack grows down from the top
 * of the image's 64 KiB segment. A real-mode image (its end, counted from the
 * segment base) must leave at least this much of that segment free. */
#define QUANTA_MIN_STACK_REAL 0x1000u

/* GDT selectors the hypervisor sets up for protected and long mode. */
#define QUANTA_SEL_CODE32 0x08u
#define QUANTA_SEL_DATA 0x10u
#define QUANTA_SEL_CODE64 0x18u

#endif /* QUANTA_ABI_H */
