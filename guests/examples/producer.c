/*
 * producer (32-bit protected mode): the producer half of the
 * producer-consumer demo; see pc.h for the channels and the protocol.
 * Produces PC_ITEMS items in all (30 for the demo; producer-3k: 3000), a
 * random number per round, never more than the buffer has room for.
 *
 *   producer | round 1: produced 4 (items 1-4)  buffer [  1  2  3  4  .  . ] prod_p=4 cons_p=0 used=4
 *   ...
 *   producer | done: produced 30 items in 12 rounds, the consumer consumed 30: counts equal (digest 0x...)
 */
#include "pc.h"

#ifndef PC_ITEMS
#define PC_ITEMS 30u
#endif

/* The producer's own copy of the buffer: each item is built at prod_p and
 * sent from there; quanta copies it into the consumer's buffer at the same
 * index. */
static struct pc_item buffer[PC_MAX_SLOTS];

int main(void)
{
    pc_self = "producer";
    rng_init();
    pc_check_channels();

    const unsigned width = pc_width(PC_ITEMS);
    uint32_t produced = 0, consumed = 0, round = 0;
    struct pc_state st = { 0 };

    for (;;) {
        round++;
        struct quanta_hc_chan_info info = pc_buffer_info(produced, consumed);
        /* After the consumer's round its cons_p must be the hypervisor's. */
        if (round > 1 && (st.cons_p != info.cons_p || st.used != info.used)) {
            l_str("producer: INVARIANT: the consumer says cons_p=");
            l_u64(st.cons_p);
            l_str(" used=");
            l_u64(st.used);
            l_str(", the buffer has cons_p=");
            l_u64(info.cons_p);
            l_str(" used=");
            l_u64(info.used);
            pc_fail_start();
        }
        uint32_t room = info.slots - info.used;
        uint32_t left = PC_ITEMS - produced;
        uint32_t k = rng_upto(room < left ? room : left);
        uint32_t first = produced + 1;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t p = info.prod_p;
            buffer[p].seq = produced + 1;
            buffer[p].check = pc_check(produced + 1);
            /* k <= free slots: a non-blocking send must not fail. */
            int32_t ret = quanta_chan_send(PC_CH_BUFFER, &buffer[p], sizeof buffer[p],
                                           QUANTA_CHAN_NONBLOCK);
            pc_check_peer(ret, round, "consumer");
            if (ret != (int32_t)sizeof buffer[p]) {
                l_str("producer: INVARIANT: sending item ");
                l_u64(produced + 1);
                l_str(" into a buffer with room: ");
                l_ret(ret);
                pc_fail_start();
            }
            produced++;
            info.prod_p = (p + 1) % info.slots;
        }
        info = pc_buffer_info(produced, consumed);
        pc_print_round(round, "produced", k, first,
                       left == 0 ? "none left" : room == 0 ? "buffer full" : "chose 0", &info,
                       consumed, width);

        st.round = round;
        st.prod_p = info.prod_p;
        st.cons_p = info.cons_p;
        st.used = info.used;
        st.produced = produced;
        st.consumed = consumed;
        st.flags = produced == PC_ITEMS ? PC_PRODUCER_DONE : 0;
        st.total = PC_ITEMS;
        int32_t ret = quanta_chan_send(PC_CH_STATE, &st, sizeof st, 0);
        pc_check_peer(ret, round, "consumer");
        if (ret != (int32_t)sizeof st) {
            l_str("producer: handing the state over failed: ");
            l_ret(ret);
            pc_fail_start();
        }

        ret = quanta_chan_recv(PC_CH_TURN, &st, sizeof st, 0);
        pc_check_peer(ret, round, "consumer");
        if (ret != (int32_t)sizeof st) {
            l_str("producer: waiting for the turn back failed: ");
            l_ret(ret);
            pc_fail_start();
        }
        if (st.round != round || st.produced != produced || st.consumed < consumed ||
            st.consumed > produced || st.prod_p != info.prod_p) {
            l_str("producer: INVARIANT: the consumer's state for round ");
            l_u64(st.round);
            l_str(" (produced ");
            l_u64(st.produced);
            l_str(", consumed ");
            l_u64(st.consumed);
            l_str(") does not follow round ");
            l_u64(round);
            pc_fail_start();
        }
        consumed = st.consumed;
        if (st.flags & PC_CONSUMER_DONE)
            break;
    }

    pc_buffer_info(produced, consumed); /* the last round checked too */
    if (consumed != produced || produced != PC_ITEMS) {
        l_str("producer: INVARIANT: finished with ");
        l_u64(produced);
        l_str(" produced and ");
        l_u64(consumed);
        l_str(" consumed");
        pc_fail_start();
    }
    uint32_t digest = out_digest;
    l_str("done: produced ");
    l_u64(produced);
    l_str(" items in ");
    l_u64(round);
    l_str(" rounds, the consumer consumed ");
    l_u64(consumed);
    l_str(": counts equal (digest ");
    l_hex32(digest);
    l_str(")");
    l_end();
    quanta_exit(0);
}
