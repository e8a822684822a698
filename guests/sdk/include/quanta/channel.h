/*
 * quanta guest SDK: channels between VMs, header-only (static inline), for
 * guests compiled with -m64, -m32 and -m16. The ABI (call numbers, struct
 * quanta_hc_chan / quanta_hc_chan_info, result codes) is in quanta/abi.h;
 * the calls go through quanta/hypercall.h's one-exit native call.
 *
 * Channels are declared on quanta's command line,
 *     --channel FROM:TO[,slots=N][,size=BYTES][,name=NAME]
 * and numbered from 0 in that order. FROM may only send on it, TO may only
 * receive (the other calls fail with QUANTA_ECHRNG); both may ask for its
 * state. A message is whole: one send is one receive.
 *
 *   quanta_chan_send(ch, buf, len, flags)   bytes sent, or QUANTA_E2BIG (len >
 *                                           size=), QUANTA_EAGAIN (full and
 *                                           QUANTA_CHAN_NONBLOCK), QUANTA_EPIPE
 *                                           (the receiver has stopped),
 *                                           QUANTA_ECHRNG, QUANTA_EFAULT
 *   quanta_chan_recv(ch, buf, cap, flags)   the message's length (a message
 *                                           longer than cap is cut to cap and
 *                                           the rest dropped: check ret > cap),
 *                                           or QUANTA_EAGAIN (empty and
 *                                           NONBLOCK), QUANTA_EPIPE (empty and
 *                                           the sender has stopped),
 *                                           QUANTA_ECHRNG, QUANTA_EFAULT
 *   quanta_chan_info(ch, &info)             QUANTA_OK and the ring's state
 *
 * Without QUANTA_CHAN_NONBLOCK a send on a full channel, or a receive on an
 * empty one, parks the VM (it uses no CPU) until the peer receives, sends or
 * stops; the call then completes as if it had just been made.
 */
#ifndef QUANTA_CHANNEL_H
#define QUANTA_CHANNEL_H

#include <quanta/hypercall.h>

static inline int32_t quanta_chan_send(uint32_t channel, const void *buf, uint32_t len,
                                       uint32_t flags)
{
    struct quanta_hc_chan b = { channel, flags, q_gpa(buf), len, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_CHAN_SEND, b);
    return b.ret;
}

static inline int32_t quanta_chan_recv(uint32_t channel, void *buf, uint32_t cap, uint32_t flags)
{
    struct quanta_hc_chan b = { channel, flags, q_gpa(buf), cap, QUANTA_ENOSYS, 0 };
    /* quanta writes into buf: tell the compiler memory changes ("memory"
     * clobber in QUANTA_CALL_). */
    QUANTA_CALL_(QUANTA_HC_CHAN_RECV, b);
    return b.ret;
}

static inline int32_t quanta_chan_info(uint32_t channel, struct quanta_hc_chan_info *info)
{
    struct quanta_hc_chan_info b = { 0 };
    b.channel = channel;
    b.ret = QUANTA_ENOSYS;
    QUANTA_CALL_(QUANTA_HC_CHAN_INFO, b);
    if (info)
        *info = b;
    return b.ret;
}

/* A name for every result code, channel ones included. */
static inline const char *quanta_chan_strerror(int32_t ret)
{
    switch (ret) {
    case QUANTA_EAGAIN:
        return "EAGAIN";
    case QUANTA_EPIPE:
        return "EPIPE";
    case QUANTA_ECHRNG:
        return "ECHRNG";
    default:
        return quanta_strerror(ret);
    }
}

#endif /* QUANTA_CHANNEL_H */
