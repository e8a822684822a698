/*
 * quanta guest SDK: hypercall wrappers, header-only (static inline), for
 * guests compiled with -m64, -m32 and -m16. The ABI itself (ports, block
 * layouts, result codes) is in quanta/abi.h; docs/guest-abi.md describes it.
 *
 * Two families:
 *
 *   HC_*      the CS695 assignment calls on ports 0xE9..0xEF. Guests written
 *             for that assignment call them with the same names and types.
 *             Pointers are guest-virtual: in real mode an offset in DS, in
 *             protected and paged mode an offset in DS (base 0), in long mode
 *             a linear address below 4 GiB.
 *
 *   quanta_*  native calls: a 4-byte OUT of an argument block's
 *             guest-PHYSICAL address to QUANTA_PORT_HC_BASE + call. Each
 *             wrapper returns the block's `ret`: QUANTA_OK (0), a count, or a
 *             negative QUANTA_E* code.
 *
 * Pointer to 32-bit casts go through `unsigned long`, which is as wide as a
 * pointer with -m16, -m32 and -m64 alike.
 */
#ifndef QUANTA_HYPERCALL_H
#define QUANTA_HYPERCALL_H

#include <quanta/guest.h>

/* ---- Addresses ----------------------------------------------------------- */

/* A pointer as the 32-bit value the assignment calls take (guest-virtual,
 * i.e. an offset in DS outside long mode). */
static inline uint32_t q_ptr32(const volatile void *p)
{
    return (uint32_t)(unsigned long)p;
}

/* The guest-physical address of an object, as native calls need it.
 * quanta identity-maps memory and uses flat segments in protected, paged
 * and long mode, so there a pointer is its guest-physical address. In real
 * mode (CR0.PE clear, read with SMSW, which works in every mode at CPL 0)
 * it is DS * 16 + offset. */
static inline uint32_t q_gpa(const volatile void *p)
{
#if defined(__x86_64__)
    return (uint32_t)(unsigned long)p;
#else
    uint16_t msw, ds;
    __asm__ volatile("smsw %0" : "=r"(msw));
    if (msw & 1)
        return (uint32_t)(unsigned long)p;
    __asm__ volatile("mov %%ds, %0" : "=r"(ds));
    return ((uint32_t)ds << 4) + (uint32_t)(unsigned long)p;
#endif
}

/* ---- CS695 assignment hypercalls ------------------------------------------ */

/* One byte to the console (port 0xE9). */
static inline void HC_print8bit(uint8_t c)
{
    outb(QUANTA_PORT_SERIAL, c);
}

/* quanta prints v in decimal and a newline. */
static inline void HC_print32bit(uint32_t v)
{
    outl(QUANTA_PORT_HC_PRINT32, v);
}

/* quanta prints the NUL-terminated string at str (guest-virtual), at most
 * QUANTA_MAX_STRING bytes; a longer or unmapped string is cut with a warning
 * on quanta's stderr. */
static inline void HC_printStr(const char *str)
{
    outl(QUANTA_PORT_HC_PRINT_STR, q_ptr32(str));
}

/* This VM's exits so far, counting the one that carries this call. */
static inline uint32_t HC_numExits(void)
{
    return inl(QUANTA_PORT_HC_NUM_EXITS);
}

/* "IO in: <n>\nIO out: <m>\n", NUL-terminated, in the scratch area quanta
 * reserves at the top of memory (a ring of QUANTA_EXITS_TEXT_SLOTS slots, so
 * the last results stay valid and guest memory is never written).
 * The address is guest-physical = guest-virtual under quanta's identity map.
 * In real mode it lies outside the 64 KiB segment: it can be handed back to
 * HC_printStr when DS is 0 (image loaded at 0), but not dereferenced. */
static inline char *HC_numExitsByType(void)
{
    return (char *)(unsigned long)inl(QUANTA_PORT_HC_EXITS_BY_TYPE);
}

/* The host virtual address backing guest-virtual gva, through the guest's
 * own page tables: quanta prints the whole 64-bit value and returns its low
 * 32 bits; 0 (and a diagnostic line) when gva is unmapped or outside memory. */
static inline uint32_t HC_gvaToHva(uint32_t gva)
{
    outl(QUANTA_PORT_HC_GVA, gva);
    return inl(QUANTA_PORT_HC_HVA);
}

/* ---- Native hypercalls ---------------------------------------------------- */

/* The raw call: OUT of the block's guest-physical address, then IN of the
 * result from the same port. Needed when the block itself may be bad (quanta
 * cannot write `ret` into a block outside memory: the IN returns
 * QUANTA_EFAULT) or for a call number quanta does not know (QUANTA_ENOSYS).
 * Costs two exits where the typed wrappers below take one. */
static inline int32_t quanta_hypercall(unsigned call, uint32_t block_gpa)
{
    uint16_t port = (uint16_t)(QUANTA_PORT_HC_BASE + call);
    outl(port, block_gpa);
    return (int32_t)inl(port);
}

/* The result of the last native call (an IN from any native port). */
static inline int32_t quanta_last_result(void)
{
    return (int32_t)inl(QUANTA_PORT_HC_BASE);
}

/* One exit: OUT of the block's address. The block is an in/out operand so
 * the compiler writes it before and rereads it after. */
#define QUANTA_CALL_(call, block)                                             \
    __asm__ volatile("outl %1, %2"                                            \
                     : "+m"(block)                                            \
                     : "a"(q_gpa(&(block))),                                  \
                       "Nd"((uint16_t)(QUANTA_PORT_HC_BASE + (call)))         \
                     : "memory")

/* ABI version (QUANTA_ABI_VERSION) into *version when not NULL. */
static inline int32_t quanta_version(uint32_t *version)
{
    struct quanta_hc_version b = { 0, QUANTA_ENOSYS };
    QUANTA_CALL_(QUANTA_HC_VERSION, b);
    if (version)
        *version = b.version;
    return b.ret;
}

/* Stops this VM: status 0 counts as halted, anything else as failed (quanta
 * then exits with status 1). Does not return. */
static inline __attribute__((noreturn)) void quanta_exit(uint32_t status)
{
    struct quanta_hc_exit b = { status, 0 };
    QUANTA_CALL_(QUANTA_HC_EXIT, b);
    q_halt(); /* not reached under quanta */
}

/* Gives up the rest of this VM's time slice. */
static inline int32_t quanta_yield(void)
{
    struct quanta_hc_yield b = { 0, QUANTA_ENOSYS };
    QUANTA_CALL_(QUANTA_HC_YIELD, b);
    return b.ret;
}

/* CLOCK_MONOTONIC nanoseconds since this VM was created, into *ns. */
static inline int32_t quanta_clock_ns(uint64_t *ns)
{
    struct quanta_hc_clock b = { 0, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_CLOCK, b);
    if (ns)
        *ns = b.ns;
    return b.ret;
}

/* Adds units to this VM's work counter. */
static inline int32_t quanta_report_work(uint64_t units)
{
    struct quanta_hc_work b = { units, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_WORK, b);
    return b.ret;
}

/* This VM's 64-bit seed into *seed: derived from --seed (reproducible) or
 * from getrandom; different for each VM of a run. */
static inline int32_t quanta_random_seed(uint64_t *seed)
{
    struct quanta_hc_random b = { 0, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_RANDOM, b);
    if (seed)
        *seed = b.seed;
    return b.ret;
}

/* Writes len bytes at buf to the console in one exit. Returns len, or
 * QUANTA_E2BIG (len > QUANTA_MAX_STRING) or QUANTA_EFAULT (buffer not inside
 * guest memory). buf is converted with q_gpa; quanta_write_gpa takes a
 * guest-physical address directly. */
static inline int32_t quanta_write_gpa(uint32_t buf_gpa, uint32_t len)
{
    struct quanta_hc_write b = { buf_gpa, len, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_WRITE, b);
    return b.ret;
}

static inline int32_t quanta_write(const void *buf, uint32_t len)
{
    return quanta_write_gpa(q_gpa(buf), len);
}

/* A name for a result code ("OK", "EFAULT", ...; "count" for positives). */
static inline const char *quanta_strerror(int32_t ret)
{
    switch (ret) {
    case QUANTA_OK:
        return "OK";
    case QUANTA_EFAULT:
        return "EFAULT";
    case QUANTA_EINVAL:
        return "EINVAL";
    case QUANTA_ENOSYS:
        return "ENOSYS";
    case QUANTA_E2BIG:
        return "E2BIG";
    default:
        return ret > 0 ? "count" : "error";
    }
}

#endif /* QUANTA_HYPERCALL_H */
