/*
 * chan-deadlock (32-bit protected mode): waits on a channel that nobody
 * will ever serve, to show quanta's deadlock report. One image for every
 * VM of the run; each finds its ends of the channels (channel info succeeds
 * only at an end; a too-long send says E2BIG only at the sending end and
 * sends nothing):
 *
 *   - a VM that receives on some channel blocks receiving on the last one;
 *   - a VM that only sends fills its first channel and blocks on a send.
 *
 * So --channel a:b --channel b:a (a cycle) parks both receiving, and
 * --channel a:b,slots=1 --channel a:b parks a sending on a full ch0 while
 * b waits on the empty ch1. quanta then reports the deadlock and exits 1.
 * Should the wait ever end, the VM prints what it got and exits 0.
 */
#include "chanutil.h"

int main(void)
{
    int32_t recv_ch = -1, send_ch = -1;
    for (uint32_t ch = 0; ch < 16; ch++) {
        struct quanta_hc_chan_info info;
        if (quanta_chan_info(ch, &info) != QUANTA_OK)
            continue;
        /* Length max_size + 1 never fits: E2BIG at the sending end,
         * ECHRNG at the receiving end, and nothing is sent either way. The
         * buffer must lie in memory (quanta checks it first): the image at
         * 0x1000 is long enough. */
        int32_t r = quanta_chan_send(ch, (const void *)0x1000, info.max_size + 1, 0);
        if (r == QUANTA_E2BIG) {
            if (send_ch < 0)
                send_ch = (int32_t)ch;
        } else {
            recv_ch = (int32_t)ch;
        }
    }
    char buf[64];
    int32_t ret;
    if (recv_ch >= 0) {
        l_str("waiting to receive on channel ");
        l_u64((uint32_t)recv_ch);
        l_end();
        ret = quanta_chan_recv((uint32_t)recv_ch, buf, sizeof buf, 0);
    } else if (send_ch >= 0) {
        l_str("sending on channel ");
        l_u64((uint32_t)send_ch);
        l_str(" until it blocks");
        l_end();
        do
            ret = quanta_chan_send((uint32_t)send_ch, "ping", 4, 0);
        while (ret == 4);
    } else {
        l_str("no channel: run with --channel FROM:TO");
        fail_line(2);
    }
    l_str("the wait ended: ");
    l_ret(ret);
    l_end();
    quanta_exit(0);
}
