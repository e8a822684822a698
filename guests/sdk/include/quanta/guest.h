/*
 * quanta guest SDK: the few helpers a freestanding guest needs to talk to
 * quanta. Header-only (static inline) so it works unchanged when compiled
 * with -m64, -m32 and -m16, and needs no libc and no libgcc: 64-bit values
 * are printed without 64-bit division (which would call __udivdi3 on i386).
 *
 * Port I/O argument order is (port, value), e.g. outb(QUANTA_PORT_SERIAL, 'x').
 */
#ifndef QUANTA_GUEST_H
#define QUANTA_GUEST_H

#include <quanta/abi.h>

/* ---- Port I/O ----------------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/* One string instruction moving n bytes (quanta's bus handles the count).
 * In 16-bit code only SI/DI/CX are used: n must stay below 64 KiB. */
static inline void q_rep_outsb(uint16_t port, const void *buf, unsigned long n)
{
    __asm__ volatile("cld; rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

static inline void q_rep_insb(uint16_t port, void *buf, unsigned long n)
{
    __asm__ volatile("cld; rep insb" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

/* ---- Console (port 0xE9) ------------------------------------------------ */

static inline void q_putc(char c)
{
    outb(QUANTA_PORT_SERIAL, (uint8_t)c);
}

static inline void q_puts(const char *s)
{
    while (*s)
        q_putc(*s++);
}

static inline void q_write(const char *s, unsigned long n)
{
    while (n--)
        q_putc(*s++);
}

/* Next byte of quanta's standard input, or -1 at end of input. quanta
 * returns 0xFF there, so a literal 0xFF byte in the input also reads as -1. */
static inline int q_getc(void)
{
    uint8_t c = inb(QUANTA_PORT_SERIAL);
    return c == 0xFF ? -1 : (int)c;
}

/* Writes v in decimal into digits (no padding, no NUL) and returns the
 * number of digits. Subtracts powers of ten instead of dividing, so 16- and
 * 32-bit guests need no libgcc. Every SDK printer builds on this one. */
static inline unsigned q_format_u64(char digits[20], uint64_t v)
{
    static const uint64_t pow10[20] = {
        10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
        10000000000000000ull, 1000000000000000ull, 100000000000000ull,
        10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
        1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull,
        10000ull, 1000ull, 100ull, 10ull, 1ull,
    };
    unsigned n = 0;
    for (int i = 0; i < 20; i++) {
        char d = '0';
        while (v >= pow10[i]) {
            v -= pow10[i];
            d++;
        }
        if (d != '0' || n > 0 || i == 19)
            digits[n++] = d;
    }
    return n;
}

/* Decimal, no padding. */
static inline void q_put_u64(uint64_t v)
{
    char digits[20];
    unsigned n = q_format_u64(digits, v);
    for (unsigned i = 0; i < n; i++)
        q_putc(digits[i]);
}

/* "0x" then lowercase hex digits, no leading zeros ("0x0" for zero). */
static inline void q_put_hex(uint64_t v)
{
    int shift = 60;
    q_putc('0');
    q_putc('x');
    while (shift > 0 && ((v >> shift) & 0xF) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        q_putc("0123456789abcdef"[(v >> shift) & 0xF]);
}

/* ---- Control ------------------------------------------------------------ */

/* HLT ends the VM under quanta; loop in case execution ever resumes. */
static inline __attribute__((noreturn)) void q_halt(void)
{
    for (;;)
        __asm__ volatile("hlt");
}

/* Stack pointer at entry, saved by the SDK's start32.S / start64.S before
 * anything is pushed (so it is exactly what quanta set up). */
extern unsigned long q_initial_sp;

#endif /* QUANTA_GUEST_H */
