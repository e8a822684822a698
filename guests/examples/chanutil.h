/*
 * Helpers shared by the channel guests (producer, consumer, chan-tx,
 * chan-rx, chanprobe, chan-deadlock): lines built in a buffer and written
 * with one QUANTA_HC_WRITE exit each (q_puts costs an exit per byte), a
 * running FNV-1a digest of everything written (so a test can compare a whole
 * run's output with one number), a splitmix64 generator seeded by the host's
 * QUANTA_HC_RANDOM call, and failing with a status.
 *
 * No 64-bit division anywhere: 32-bit guests are linked without libgcc.
 */
#ifndef QUANTA_EXAMPLES_CHANUTIL_H
#define QUANTA_EXAMPLES_CHANUTIL_H

#include <quanta/channel.h>

/* ---- Lines ----------------------------------------------------------------- */

#define LINE_MAX_LEN 1024u

struct line {
    uint32_t len;
    char buf[LINE_MAX_LEN];
};

static struct line out_line;
static uint32_t out_digest = 2166136261u; /* FNV-1a 32 offset basis */

static inline void l_char(char c)
{
    if (out_line.len < LINE_MAX_LEN - 1)
        out_line.buf[out_line.len++] = c;
}

static inline void l_str(const char *s)
{
    while (*s)
        l_char(*s++);
}

/* Decimal, right-aligned in width (0: no padding). */
static inline void l_u64w(uint64_t v, unsigned width)
{
    char digits[20];
    unsigned n = q_format_u64(digits, v);
    for (unsigned i = n; i < width; i++)
        l_char(' ');
    for (unsigned i = 0; i < n; i++)
        l_char(digits[i]);
}

static inline void l_u64(uint64_t v)
{
    l_u64w(v, 0);
}

static inline void l_i32(int32_t v)
{
    if (v < 0) {
        l_char('-');
        l_u64((uint64_t)-(int64_t)v);
    } else {
        l_u64((uint64_t)v);
    }
}

static inline void l_hex32(uint32_t v)
{
    l_str("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        l_char("0123456789abcdef"[(v >> shift) & 0xF]);
}

/* Pads the line with spaces up to column col. */
static inline void l_pad(uint32_t col)
{
    while (out_line.len < col)
        l_char(' ');
}

/* A result code: its name, or the count. */
static inline void l_ret(int32_t ret)
{
    if (ret >= 0)
        l_i32(ret);
    else
        l_str(quanta_chan_strerror(ret));
}

/* Ends the line, writes it in one exit and folds it into the digest. */
static inline void l_end(void)
{
    out_line.buf[out_line.len++] = '\n';
    for (uint32_t i = 0; i < out_line.len; i++) {
        out_digest ^= (uint8_t)out_line.buf[i];
        out_digest *= 16777619u;
    }
    quanta_write(out_line.buf, out_line.len);
    out_line.len = 0;
}

/* ---- Randomness ------------------------------------------------------------ */

static uint64_t rng_state;

/* Seeds the generator from quanta (fixed by --seed, else random). */
static inline void rng_init(void)
{
    quanta_random_seed(&rng_state);
}

static inline uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n]. */
static inline uint32_t rng_upto(uint32_t n)
{
    return (uint32_t)(rng_next() >> 32) % (n + 1);
}

/* ---- Failing ---------------------------------------------------------------- */

/* Ends the current line (the caller wrote what went wrong) and stops the
 * VM with a failing status: quanta then exits 1. */
static inline __attribute__((noreturn)) void fail_line(uint32_t status)
{
    l_end();
    quanta_exit(status);
}

#endif /* QUANTA_EXAMPLES_CHANUTIL_H */
