/*
 * consumer (32-bit protected mode): the consumer half of the
 * producer-consumer demo; see pc.h for the channels and the protocol.
 * Each round it waits for the producer's state, takes a random number of
 * the items in the buffer (quanta copies each from the channel into this
 * VM's buffer at cons_p), checks that every item is the next one in order
 * and intact, and hands the state back.
 *
 *   consumer | round 1: consumed 3 (items 1-3)  buffer [  .  .  .  4  .  . ] prod_p=4 cons_p=3 used=1
 *   ...
 *   consumer | done: consumed 30 items in 12 rounds, each once and in order (digest 0x...)
 */
#include "pc.h"

static struct pc_item buffer[PC_MAX_SLOTS];

int main(void)
{
    pc_self = "consumer";
    rng_init();
    pc_check_channels();

    uint32_t consumed = 0, round = 0;
    struct pc_state st;

    for (;;) {
        int32_t ret = quanta_chan_recv(PC_CH_STATE, &st, sizeof st, 0);
        pc_check_peer(ret, round + 1, "producer");
        if (ret != (int32_t)sizeof st) {
            l_str("consumer: waiting for the producer's state failed: ");
            l_ret(ret);
            pc_fail_start();
        }
        round++;
        if (st.round != round || st.consumed != consumed || st.produced < consumed ||
            st.total < st.produced) {
            l_str("consumer: INVARIANT: the producer's state for round ");
            l_u64(st.round);
            l_str(" (produced ");
            l_u64(st.produced);
            l_str(", consumed ");
            l_u64(st.consumed);
            l_str(") does not follow round ");
            l_u64(round - 1);
            pc_fail_start();
        }
        const uint32_t produced = st.produced;
        struct quanta_hc_chan_info info = pc_buffer_info(produced, consumed);
        if (st.prod_p != info.prod_p || st.used != info.used) {
            l_str("consumer: INVARIANT: the producer says prod_p=");
            l_u64(st.prod_p);
            l_str(" used=");
            l_u64(st.used);
            l_str(", the buffer has prod_p=");
            l_u64(info.prod_p);
            l_str(" used=");
            l_u64(info.used);
            pc_fail_start();
        }

        uint32_t m = rng_upto(info.used);
        uint32_t first = consumed + 1;
        for (uint32_t i = 0; i < m; i++) {
            uint32_t c = info.cons_p;
            buffer[c].seq = 0;
            buffer[c].check = 0;
            /* m <= items in the buffer: a non-blocking receive must not fail. */
            ret = quanta_chan_recv(PC_CH_BUFFER, &buffer[c], sizeof buffer[c],
                                   QUANTA_CHAN_NONBLOCK);
            if (ret != (int32_t)sizeof buffer[c]) {
                l_str("consumer: INVARIANT: receiving item ");
                l_u64(consumed + 1);
                l_str(" from a buffer holding ");
                l_u64(info.used - i);
                l_str(": ");
                l_ret(ret);
                pc_fail_start();
            }
            if (buffer[c].seq != consumed + 1 || buffer[c].check != pc_check(buffer[c].seq)) {
                l_str("consumer: INVARIANT: expected item ");
                l_u64(consumed + 1);
                l_str(", got item ");
                l_u64(buffer[c].seq);
                l_str(buffer[c].seq <= consumed ? " (a duplicate)" : " (items lost or reordered)");
                if (buffer[c].check != pc_check(buffer[c].seq))
                    l_str(" with a bad check word");
                pc_fail_start();
            }
            consumed++;
            info.cons_p = (c + 1) % info.slots;
        }
        info = pc_buffer_info(produced, consumed);
        pc_print_round(round, "consumed", m, first,
                       info.used + m == 0 ? "buffer empty" : "chose 0", &info, consumed,
                       pc_width(st.total));

        int finished = (st.flags & PC_PRODUCER_DONE) && consumed == produced;
        if (finished) {
            uint32_t digest = out_digest;
            l_str("done: consumed ");
            l_u64(consumed);
            l_str(" items in ");
            l_u64(round);
            l_str(" rounds, each once and in order (digest ");
            l_hex32(digest);
            l_str(")");
            l_end();
        }
        st.cons_p = info.cons_p;
        st.used = info.used;
        st.consumed = consumed;
        st.flags |= finished ? PC_CONSUMER_DONE : 0;
        ret = quanta_chan_send(PC_CH_TURN, &st, sizeof st, 0);
        pc_check_peer(ret, round, "producer");
        if (ret != (int32_t)sizeof st) {
            l_str("consumer: handing the turn back failed: ");
            l_ret(ret);
            pc_fail_start();
        }
        if (finished)
            quanta_exit(0);
    }
}
