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

/* ---- CS695 assignment hypercalls ------------------------------------------
 *
 * HC_numExitsByType writes its text into a ring of slots in the scratch
 * area and returns the slot's address, so the results of the last
 * QUANTA_EXITS_TEXT_SLOTS calls stay valid and guest memory is never
 * touched. Strings printed by HC_printStr are cut at QUANTA_MAX_STRING.
 */
#define QUANTA_EXITS_TEXT_SIZE 64u
#define QUANTA_EXITS_TEXT_SLOTS (QUANTA_RESERVED_SCRATCH_SIZE / QUANTA_EXITS_TEXT_SIZE)
#define QUANTA_MAX_STRING 4096u

/* ---- Native hypercalls ----------------------------------------------------
 *
 * Solo5 style: the guest writes (outl) the 32-bit guest-PHYSICAL address of
 * the call's argument block to port QUANTA_PORT_HC_BASE + call. quanta
 * reads the block, does the call and writes the result into the block's
 * `ret` field. Because a bad block pointer leaves nowhere to write, an inl
 * from the same port returns the last call's result as well.
 * Results are 0 or a negative errno-like code below; on success some calls
 * return a count in `ret` (QUANTA_HC_WRITE: bytes written).
 */
#define QUANTA_ABI_VERSION 1u

#define QUANTA_HC_VERSION 0u /* struct quanta_hc_version */
#define QUANTA_HC_EXIT 1u    /* struct quanta_hc_exit: stop this VM with a status */
#define QUANTA_HC_YIELD 2u   /* struct quanta_hc_yield: give up the rest of the slice */
#define QUANTA_HC_CLOCK 3u   /* struct quanta_hc_clock: monotonic ns */
#define QUANTA_HC_WORK 4u    /* struct quanta_hc_work: add to the work counter */
#define QUANTA_HC_RANDOM 5u  /* struct quanta_hc_random: 64-bit seed (--seed) */
#define QUANTA_HC_WRITE 6u   /* struct quanta_hc_write: a buffer to the console */
#define QUANTA_HC_CHAN_SEND 7u /* struct quanta_hc_chan: send one message */
#define QUANTA_HC_CHAN_RECV 8u /* struct quanta_hc_chan: receive one message */
#define QUANTA_HC_CHAN_INFO 9u /* struct quanta_hc_chan_info: a channel's state */
#define QUANTA_HC_COUNT 16u  /* ports reserved: QUANTA_PORT_HC_BASE .. +15 */

#define QUANTA_OK 0
#define QUANTA_EFAULT (-14)  /* a pointer or buffer outside guest memory */
#define QUANTA_EINVAL (-22)  /* a bad argument (e.g. unknown flags) */
#define QUANTA_ENOSYS (-38)  /* no such call */
#define QUANTA_E2BIG (-7)    /* a length over the call's limit */
#define QUANTA_EAGAIN (-11)  /* non-blocking channel call would block */
#define QUANTA_EPIPE (-32)   /* the channel's peer has stopped */
#define QUANTA_ECHRNG (-44)  /* no such channel, or not this VM's end of it */

/* Guest-physical addresses are 32-bit in blocks so 32-bit guests share them. */
typedef uint32_t quanta_gpa_t;

struct quanta_hc_version {
	uint32_t version; /* out: QUANTA_ABI_VERSION */
	int32_t ret;
};

struct quanta_hc_exit {
	uint32_t status; /* in: 0 = success */
	int32_t ret;
};

struct quanta_hc_yield {
	uint32_t reserved;
	int32_t ret;
};

struct quanta_hc_clock {
	uint64_t ns; /* out: CLOCK_MONOTONIC ns since this VM started */
	int32_t ret;
	uint32_t reserved;
};

struct quanta_hc_work {
	uint64_t units; /* in: work done since the last report */
	int32_t ret;
	uint32_t reserved;
};

struct quanta_hc_random {
	uint64_t seed; /* out: per-VM seed; fixed by --seed, else from getrandom */
	int32_t ret;
	uint32_t reserved;
};

struct quanta_hc_write {
	quanta_gpa_t buffer; /* in: guest-physical address */
	uint32_t length;     /* in: at most QUANTA_MAX_STRING */
	int32_t ret;         /* out: bytes written or an error */
	uint32_t reserved;
};

/* Channels between VMs (declared with --channel), numbered from 0 in
 * command-line order. Messages are copied by quanta from the sender's
 * memory into the channel and from there into the receiver's: the VMs share
 * no memory. A blocking send on a full channel (or receive on an empty one)
 * parks the VM until the peer acts; when the peer has stopped the call
 * fails with QUANTA_EPIPE instead (a receive first drains what is left). */
#define QUANTA_CHAN_NONBLOCK 1u

struct quanta_hc_chan {
	uint32_t channel;    /* in */
	uint32_t flags;      /* in: QUANTA_CHAN_NONBLOCK */
	quanta_gpa_t buffer; /* in: the message (send) or room for it (receive) */
	uint32_t length;     /* in: message length / buffer capacity */
	int32_t ret;         /* out: bytes sent or received, or an error */
	uint32_t reserved;
};

struct quanta_hc_chan_info {
	uint32_t channel;  /* in */
	uint32_t slots;    /* out: capacity in messages */
	uint32_t used;     /* out: messages waiting */
	uint32_t prod_p;   /* out: ring index the next message goes to */
	uint32_t cons_p;   /* out: ring index the next message comes from */
	uint32_t max_size; /* out: largest message in bytes */
	uint64_t sent;     /* out: messages sent so far */
	uint64_t received; /* out: messages received so far */
	int32_t ret;
	uint32_t reserved;
};

QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_chan) == 24, "ABI: quanta_hc_chan");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_chan_info) == 48, "ABI: quanta_hc_chan_info");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_version) == 8, "ABI: quanta_hc_version");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_exit) == 8, "ABI: quanta_hc_exit");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_yield) == 8, "ABI: quanta_hc_yield");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_clock) == 16, "ABI: quanta_hc_clock");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_work) == 16, "ABI: quanta_hc_work");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_random) == 16, "ABI: quanta_hc_random");
QUANTA_STATIC_ASSERT(sizeof(struct quanta_hc_write) == 16, "ABI: quanta_hc_write");

/* ---- File device (port QUANTA_PORT_FILE) ----------------------------------
 *
 * Two protocols on one port. 1-byte IN/OUT: the mini_hypervisor byte
 * protocol (see docs/guest-abi.md). 4-byte OUT: quanta's block protocol,
 * the guest-physical address of a struct quanta_file_request; the result is
 * written back into it (ret: bytes, a descriptor, 0, or -errno).
 */
#define QUANTA_FILE_BYTE_OPEN_READ 1u
#define QUANTA_FILE_BYTE_OPEN_WRITE 2u
#define QUANTA_FILE_BYTE_CLOSE 3u
#define QUANTA_FILE_BYTE_READ 4u
#define QUANTA_FILE_BYTE_WRITE 5u

#define QUANTA_FILE_OPEN 1u
#define QUANTA_FILE_CLOSE 2u
#define QUANTA_FILE_READ 3u
#define QUANTA_FILE_WRITE 4u
#define QUANTA_FILE_SEEK 5u

/* open modes, as C's fopen */
#define QUANTA_FILE_MODE_R 0u      /* "r"  read */
#define QUANTA_FILE_MODE_W 1u      /* "w"  write, create, truncate */
#define QUANTA_FILE_MODE_A 2u      /* "a"  append, create */
#define QUANTA_FILE_MODE_RPLUS 3u  /* "r+" read and write, must exist */
#define QUANTA_FILE_MODE_WPLUS 4u  /* "w+" read and write, create, truncate */
#define QUANTA_FILE_MODE_APLUS 5u  /* "a+" read and append, create */

/* seek whence */
#define QUANTA_SEEK_SET 0u
#define QUANTA_SEEK_CUR 1u
#define QUANTA_SEEK_END 2u

#define QUANTA_FILE_MAX_NAME 255u
#define QUANTA_FILE_MAX_OPEN 16u
#define QUANTA_FILE_MAX_IO 65536u /* bytes per block read/write */

#define QUANTA_ENOENT (-2)
#define QUANTA_EBADF (-9)
#define QUANTA_EACCES (-13)
#define QUANTA_EEXIST (-17)
#define QUANTA_EMFILE (-24)
#define QUANTA_EFBIG (-27)
#define QUANTA_ENOSPC (-28)  /* the host's disk is full */
#define QUANTA_ENAMETOOLONG (-36)
#define QUANTA_EIO (-5)
#define QUANTA_EDQUOT (-122) /* the guest's file quota (--file-quota) is used up */

struct quanta_file_request {
	uint32_t op;         /* QUANTA_FILE_* */
	int32_t fd;          /* close/read/write/seek */
	quanta_gpa_t buffer; /* open: the name (NUL-terminated); read/write: data */
	uint32_t length;     /* buffer length in bytes */
	uint32_t mode;       /* open: QUANTA_FILE_MODE_*; seek: QUANTA_SEEK_* */
	uint32_t reserved;
	int64_t offset;      /* seek: in, the offset; out, the new position */
	int32_t ret;         /* out: fd (open), bytes (read/write), 0 (close), the
	                        new position capped at INT32_MAX (seek), or -errno */
	uint32_t reserved2;
};

QUANTA_STATIC_ASSERT(sizeof(struct quanta_file_request) == 40, "ABI: quanta_file_request");

#endif /* QUANTA_ABI_H */
