/*
 * chan-tx / chan-rx: a stream of numbered messages over channel 0, from
 * the VM running chan-tx to the one running chan-rx. chan-tx reads its
 * settings from standard input (one line of key=value words; end of input
 * gives the defaults) and sends them to chan-rx as message 0, so one line
 * drives both sides:
 *
 *   count=N      messages after the settings (default 5)
 *   len=L        every message L bytes (default 0: lengths vary from 4 to
 *                the channel's size=, message i is 4 + (i*37) mod (size-3))
 *   spin_ms=M    chan-tx busy-waits M ms (QUANTA_HC_CLOCK) before each send
 *   nb=1         chan-tx sends with QUANTA_CHAN_NONBLOCK, yielding on EAGAIN
 *   verbose=1    chan-tx prints every send, chan-rx every message
 *   rx_stop=K    chan-rx halts (HLT) after K messages
 *   rx_fault=K   chan-rx triple-faults after K messages
 *   rx_poll=1    chan-rx polls with QUANTA_CHAN_NONBLOCK in a busy loop
 *                instead of blocking (the control for "parked uses no CPU")
 *
 * The channel's size= must be 48 (the settings) to 4096.
 *
 * Message i (from 1): bytes 0-3 are i (little endian), byte j >= 4 is
 * (i + j) mod 256. chan-rx checks number, length and bytes of every one.
 * chan-tx halts after the last send; chan-rx then drains the channel and
 * gets QUANTA_EPIPE. Lines:
 *
 *   tx: sent N messages (EAGAIN E times)   or   tx: message I: EPIPE (the receiver has stopped)
 *   rx: received N messages in order, then EPIPE (the sender has stopped)
 */
#ifndef QUANTA_EXAMPLES_CHANSTREAM_H
#define QUANTA_EXAMPLES_CHANSTREAM_H

#include "chanutil.h"

#define STREAM_CH 0u
#define STREAM_MAGIC 0x5354524du /* "STRM" */
#define STREAM_MAX 4096u         /* largest message the guests handle */
#define STREAM_FAIL 3u

struct stream_config {
    uint32_t magic;
    uint32_t count;
    uint32_t len;
    uint32_t spin_ms;
    uint32_t nb;
    uint32_t verbose;
    uint32_t rx_stop;
    uint32_t rx_fault;
    uint32_t rx_poll;
    uint32_t reserved[3];
};

static inline uint32_t stream_len(const struct stream_config *c, uint32_t max_size, uint32_t i)
{
    if (c->len)
        return c->len;
    return 4 + (i * 37u) % (max_size - 3);
}

static inline void stream_fill(uint8_t *buf, uint32_t i, uint32_t len)
{
    buf[0] = (uint8_t)i;
    buf[1] = (uint8_t)(i >> 8);
    buf[2] = (uint8_t)(i >> 16);
    buf[3] = (uint8_t)(i >> 24);
    for (uint32_t j = 4; j < len; j++)
        buf[j] = (uint8_t)(i + j);
}

/* 0 if buf holds message i of length len, else the first bad byte + 1. */
static inline uint32_t stream_check(const uint8_t *buf, uint32_t i, uint32_t len)
{
    uint32_t got = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                   (uint32_t)buf[3] << 24;
    if (got != i)
        return 1;
    for (uint32_t j = 4; j < len; j++)
        if (buf[j] != (uint8_t)(i + j))
            return j + 1;
    return 0;
}

/* The channel's largest message, checked against what the guests handle. */
static inline uint32_t stream_max_size(const char *who)
{
    struct quanta_hc_chan_info info;
    int32_t ret = quanta_chan_info(STREAM_CH, &info);
    if (ret != QUANTA_OK || info.max_size < sizeof(struct stream_config) || info.max_size > STREAM_MAX) {
        l_str(who);
        l_str(": channel 0 ");
        if (ret != QUANTA_OK) {
            l_str("is missing (");
            l_ret(ret);
            l_str("): run with --channel TX:RX");
        } else {
            l_str("must allow messages of 48 to 4096 bytes (size=)");
        }
        fail_line(STREAM_FAIL);
    }
    return info.max_size;
}

#endif /* QUANTA_EXAMPLES_CHANSTREAM_H */
