/*
 * chanprobe-a / chanprobe-b (32-bit protected mode): every channel result,
 * in an order that does not depend on scheduling, so the whole output is
 * fixed (tests/vm/channel-cases.toml compares it byte for byte). Declared as
 *
 *   --name a,b --channel a:b,slots=2,size=16 --channel b:a,slots=1 --channel a:b,slots=1
 *
 *   ch0  a -> b  2 slots of 16 bytes: the data
 *   ch1  b -> a  1 slot: b's "bye"
 *   ch2  a -> b  1 slot: a's "go"
 *
 * Each side prints only while the other is parked, so lines never mix:
 *
 *   a: wrong channel/end (ECHRNG), too long (E2BIG), buffer outside memory
 *      (EFAULT); "one", "two" without blocking, "three" -> EAGAIN (full);
 *      "go" on ch2; then, printing nothing, a blocking send of "three"
 *      (parks until b receives) and a blocking receive on ch1
 *   b: (parked on ch2 until "go") receives "one" into 2 bytes (ret 3: cut),
 *      "two", then "three" blocking; EAGAIN on the empty channel; EFAULT,
 *      ECHRNG; "bye" on ch1, then halts
 *   a: the blocked send's result, "bye", then EPIPE receiving from and
 *      sending to the halted b; exits with status 0
 */
#include "chanutil.h"

#define CH_DATA 0u
#define CH_BYE 1u
#define CH_GO 2u
#define OUTSIDE 0xfffff000u /* a buffer address past every memory size */

static void show(const char *what, int32_t ret)
{
    l_str(what);
    l_str(": ");
    l_ret(ret);
    l_end();
}

static void show_info(uint32_t ch)
{
    struct quanta_hc_chan_info i;
    int32_t ret = quanta_chan_info(ch, &i);
    l_str("info ch");
    l_u64(ch);
    l_str(": ");
    l_str(quanta_chan_strerror(ret));
    if (ret == QUANTA_OK) {
        l_str(", slots ");
        l_u64(i.slots);
        l_str(" size ");
        l_u64(i.max_size);
        l_str(" used ");
        l_u64(i.used);
        l_str(" prod_p ");
        l_u64(i.prod_p);
        l_str(" cons_p ");
        l_u64(i.cons_p);
        l_str(" sent ");
        l_u64(i.sent);
        l_str(" received ");
        l_u64(i.received);
    }
    l_end();
}

#ifndef PROBE_B

static int32_t send_raw(uint32_t ch, uint32_t buffer_gpa, uint32_t len, uint32_t flags)
{
    struct quanta_hc_chan b = { ch, flags, buffer_gpa, len, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_CHAN_SEND, b);
    return b.ret;
}

int main(void)
{
    static const char too_long[] = "seventeen bytes!!"; /* 17 bytes + NUL */
    char scratch[4];
    show_info(CH_DATA);
    show_info(7);
    show("send ch7", quanta_chan_send(7, "x", 1, 0));
    show("recv ch0 (the sending end)", quanta_chan_recv(CH_DATA, scratch, sizeof scratch, 0));
    show("send ch1 (the receiving end)", quanta_chan_send(CH_BYE, "x", 1, 0));
    show("send 17 bytes", quanta_chan_send(CH_DATA, too_long, 17, 0));
    show("send from outside memory", send_raw(CH_DATA, OUTSIDE, 4, 0));
    show("send one (non-blocking)", quanta_chan_send(CH_DATA, "one", 3, QUANTA_CHAN_NONBLOCK));
    show("send two (non-blocking)", quanta_chan_send(CH_DATA, "two", 3, QUANTA_CHAN_NONBLOCK));
    show("send three (non-blocking)", quanta_chan_send(CH_DATA, "three", 5, QUANTA_CHAN_NONBLOCK));
    show_info(CH_DATA);
    l_str("go");
    l_end();
    int32_t go = quanta_chan_send(CH_GO, "go", 2, 0);

    /* b prints now: nothing here until its "bye". */
    int32_t three = quanta_chan_send(CH_DATA, "three", 5, 0);
    char bye[8] = { 0 };
    int32_t got = quanta_chan_recv(CH_BYE, bye, sizeof bye - 1, 0);

    show("send go", go);
    show("send three (blocking)", three);
    l_str("recv ch1: ");
    l_ret(got);
    l_str(" '");
    l_str(bye);
    l_str("'");
    l_end();
    show("recv ch1 again (b halted)", quanta_chan_recv(CH_BYE, bye, sizeof bye - 1, 0));
    show("send ch0 (b halted)", quanta_chan_send(CH_DATA, "four", 4, 0));
    show_info(CH_DATA);
    quanta_exit(0);
}

#else /* b */

static int32_t recv_raw(uint32_t ch, uint32_t buffer_gpa, uint32_t len, uint32_t flags)
{
    struct quanta_hc_chan b = { ch, flags, buffer_gpa, len, QUANTA_ENOSYS, 0 };
    QUANTA_CALL_(QUANTA_HC_CHAN_RECV, b);
    return b.ret;
}

int main(void)
{
    char buf[16];
    int32_t ret = quanta_chan_recv(CH_GO, buf, sizeof buf, 0);
    show("recv go", ret);
    show_info(CH_DATA);

    buf[0] = buf[1] = buf[2] = '-';
    buf[3] = 0;
    ret = quanta_chan_recv(CH_DATA, buf, 2, 0);
    l_str("recv into 2 bytes: ");
    l_ret(ret);
    l_str(" '");
    l_str(buf);
    l_str("'");
    l_end();

    for (int n = 0; n < 2; n++) {
        for (unsigned i = 0; i < sizeof buf; i++)
            buf[i] = 0;
        ret = quanta_chan_recv(CH_DATA, buf, sizeof buf - 1, n == 0 ? QUANTA_CHAN_NONBLOCK : 0);
        l_str(n == 0 ? "recv (non-blocking): " : "recv (blocking): ");
        l_ret(ret);
        l_str(" '");
        l_str(buf);
        l_str("'");
        l_end();
    }
    show("recv (non-blocking, empty)", quanta_chan_recv(CH_DATA, buf, sizeof buf, QUANTA_CHAN_NONBLOCK));
    show("recv into outside memory", recv_raw(CH_DATA, OUTSIDE, 4, 0));
    show("send ch0 (the receiving end)", quanta_chan_send(CH_DATA, "x", 1, 0));
    show("recv ch1 (the sending end)", quanta_chan_recv(CH_BYE, buf, sizeof buf, 0));
    show_info(CH_DATA);
    l_str("bye");
    l_end();
    ret = quanta_chan_send(CH_BYE, "bye", 3, 0);
    if (ret != 3)
        show("send bye", ret);
    return 0;
}

#endif
