/*
 * chan-rx (32-bit protected mode): the receiving end of the stream test;
 * settings and output lines in chanstream.h.
 */
#include "chanstream.h"

static uint8_t message[STREAM_MAX];

int main(void)
{
    uint32_t max_size = stream_max_size("rx");
    struct stream_config c;
    int32_t ret = quanta_chan_recv(STREAM_CH, &c, sizeof c, 0);
    if (ret != (int32_t)sizeof c || c.magic != STREAM_MAGIC) {
        l_str("rx: expected the settings first, got ");
        l_ret(ret);
        fail_line(STREAM_FAIL);
    }

    uint32_t received = 0;
    uint64_t polls = 0;
    for (;;) {
        if (c.rx_poll) {
            do {
                ret = quanta_chan_recv(STREAM_CH, message, sizeof message, QUANTA_CHAN_NONBLOCK);
                polls++;
            } while (ret == QUANTA_EAGAIN);
        } else {
            ret = quanta_chan_recv(STREAM_CH, message, sizeof message, 0);
        }
        if (ret < 0)
            break;
        uint32_t i = received + 1;
        uint32_t len = stream_len(&c, max_size, i);
        uint32_t bad = stream_check(message, i, (uint32_t)ret);
        if ((uint32_t)ret != len || bad) {
            l_str("rx: message ");
            l_u64(i);
            l_str(" wrong: ");
            l_u64((uint32_t)ret);
            l_str(" bytes (expected ");
            l_u64(len);
            l_str(")");
            if (bad == 1) {
                l_str(", number ");
                l_u64((uint32_t)message[0] | (uint32_t)message[1] << 8 |
                      (uint32_t)message[2] << 16 | (uint32_t)message[3] << 24);
            } else if (bad) {
                l_str(", byte ");
                l_u64(bad - 1);
                l_str(" differs");
            }
            fail_line(STREAM_FAIL);
        }
        received = i;
        if (c.verbose) {
            l_str("rx: message ");
            l_u64(i);
            l_str(", ");
            l_u64(len);
            l_str(" bytes");
            l_end();
        }
        if (c.rx_stop && received == c.rx_stop) {
            l_str("rx: halting after ");
            l_u64(received);
            l_str(" messages");
            l_end();
            q_halt();
        }
        if (c.rx_fault && received == c.rx_fault) {
            l_str("rx: faulting after ");
            l_u64(received);
            l_str(" messages");
            l_end();
            __asm__ volatile("ud2"); /* no IDT: a triple fault */
        }
    }
    if (ret != QUANTA_EPIPE) {
        l_str("rx: receive ");
        l_u64(received + 1);
        l_str(": ");
        l_ret(ret);
        fail_line(STREAM_FAIL);
    }
    l_str("rx: received ");
    l_u64(received);
    l_str(received == c.count ? " messages in order, then EPIPE (the sender has stopped)"
                              : " messages in order, then EPIPE (the sender stopped early)");
    l_end();
    (void)polls;
    return 0;
}
