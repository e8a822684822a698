/*
 * chan-tx (32-bit protected mode): the sending end of the stream test;
 * settings and output lines in chanstream.h.
 */
#include "chanstream.h"

static uint8_t message[STREAM_MAX];

/* Reads "key=value ..." up to the end of the line or of input. */
static void read_config(struct stream_config *c)
{
    char key[16];
    unsigned klen = 0;
    uint32_t value = 0;
    int in_value = 0;
    for (;;) {
        int ch = q_getc();
        if (ch == -1 || ch == '\n' || ch == ' ' || ch == '\t') {
            if (in_value) {
                key[klen] = 0;
                const char *names[] = { "count", "len", "spin_ms", "nb", "verbose",
                                        "rx_stop", "rx_fault", "rx_poll" };
                uint32_t *fields[] = { &c->count, &c->len, &c->spin_ms, &c->nb, &c->verbose,
                                       &c->rx_stop, &c->rx_fault, &c->rx_poll };
                unsigned n = 0;
                for (; n < sizeof names / sizeof names[0]; n++) {
                    const char *a = names[n], *b = key;
                    while (*a && *a == *b)
                        a++, b++;
                    if (*a == 0 && *b == 0)
                        break;
                }
                if (n == sizeof names / sizeof names[0]) {
                    l_str("tx: unknown setting '");
                    l_str(key);
                    l_str("'");
                    fail_line(STREAM_FAIL);
                }
                *fields[n] = value;
            }
            klen = 0;
            value = 0;
            in_value = 0;
            if (ch == -1 || ch == '\n')
                return;
        } else if (ch == '=' && !in_value) {
            in_value = 1;
        } else if (in_value && ch >= '0' && ch <= '9') {
            value = value * 10 + (uint32_t)(ch - '0');
        } else if (!in_value && klen < sizeof key - 1) {
            key[klen++] = (char)ch;
        } else {
            l_str("tx: bad settings line (expected key=number words)");
            fail_line(STREAM_FAIL);
        }
    }
}

static void spin_ms(uint32_t ms)
{
    uint64_t start, now;
    quanta_clock_ns(&start);
    do {
        for (volatile uint32_t i = 0; i < 1000; i++)
            ;
        quanta_clock_ns(&now);
    } while (now - start < (uint64_t)ms * 1000000u);
}

int main(void)
{
    struct stream_config c = { 0 };
    c.magic = STREAM_MAGIC;
    c.count = 5;
    read_config(&c);
    uint32_t max_size = stream_max_size("tx");
    if (c.len > max_size || (c.len && c.len < 4)) {
        l_str("tx: len= must be 4 to the channel's size=");
        fail_line(STREAM_FAIL);
    }

    int32_t ret = quanta_chan_send(STREAM_CH, &c, sizeof c, 0);
    if (ret != (int32_t)sizeof c) {
        l_str("tx: sending the settings: ");
        l_ret(ret);
        fail_line(ret == QUANTA_EPIPE ? 0 : STREAM_FAIL);
    }

    uint32_t eagain = 0;
    for (uint32_t i = 1; i <= c.count; i++) {
        uint32_t len = stream_len(&c, max_size, i);
        stream_fill(message, i, len);
        if (c.spin_ms)
            spin_ms(c.spin_ms);
        for (;;) {
            ret = quanta_chan_send(STREAM_CH, message, len, c.nb ? QUANTA_CHAN_NONBLOCK : 0);
            if (ret != QUANTA_EAGAIN)
                break;
            eagain++;
            quanta_yield();
        }
        if (c.verbose) {
            l_str("tx: send ");
            l_u64(i);
            l_str(": ");
            l_ret(ret);
            l_end();
        }
        if (ret == QUANTA_EPIPE) {
            l_str("tx: message ");
            l_u64(i);
            l_str(": EPIPE (the receiver has stopped)");
            l_end();
            return 0;
        }
        if (ret != (int32_t)len) {
            l_str("tx: message ");
            l_u64(i);
            l_str(": ");
            l_ret(ret);
            fail_line(STREAM_FAIL);
        }
    }
    l_str("tx: sent ");
    l_u64(c.count);
    l_str(" messages");
    if (c.nb) {
        l_str(" (EAGAIN ");
        l_u64(eagain);
        l_str(" times)");
    }
    l_end();
    return 0;
}
