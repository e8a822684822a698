/*
 * Whole lines to the console in one exit each (QUANTA_HC_WRITE), for the
 * example guests that run several at once: quanta prefixes each VM's lines
 * with its name and flushes a partial line when a slice ends, so a line
 * printed byte by byte (one exit per byte) can be split by a time slice;
 * one buffered line per exit cannot.
 */
#ifndef QUANTA_EXAMPLES_LINEOUT_H
#define QUANTA_EXAMPLES_LINEOUT_H

#include <quanta/hypercall.h>

static char lo_buf[128];
static unsigned lo_n;

static inline void lo_flush(void)
{
    if (lo_n) {
        quanta_write(lo_buf, lo_n);
        lo_n = 0;
    }
}

static inline void lo_putc(char c)
{
    lo_buf[lo_n++] = c;
    if (c == '\n' || lo_n == sizeof lo_buf)
        lo_flush();
}

static inline void lo_puts(const char *s)
{
    while (*s)
        lo_putc(*s++);
}

static inline void lo_write(const char *s, unsigned long n)
{
    while (n--)
        lo_putc(*s++);
}

/* Decimal (q_format_u64 from the SDK). */
static inline void lo_put_u64(uint64_t v)
{
    char digits[20];
    unsigned n = q_format_u64(digits, v);
    for (unsigned i = 0; i < n; i++)
        lo_putc(digits[i]);
}

static inline void lo_put_int(int32_t v)
{
    if (v < 0) {
        lo_putc('-');
        lo_put_u64((uint64_t)-(int64_t)v);
    } else {
        lo_put_u64((uint64_t)v);
    }
}

#endif /* QUANTA_EXAMPLES_LINEOUT_H */
