/*
 * The producer-consumer demo (CS695 assignment 2, part 2), shared by
 * producer.c and consumer.c. Two 32-bit protected-mode VMs share no memory;
 * quanta copies every byte between them through three channels, which must
 * be declared in this order:
 *
 *   0  buffer  producer -> consumer, slots=6 (any 1..PC_MAX_SLOTS), the
 *              bounded buffer itself: its ring indices are prod_p and cons_p
 *   1  state   producer -> consumer, slots=1: "your turn" and the state
 *   2  turn    consumer -> producer, slots=1: "your turn" and the state back
 *
 *   --name producer,consumer
 *   --channel producer:consumer,slots=6,name=buffer
 *   --channel producer:consumer,slots=1,name=state
 *   --channel consumer:producer,slots=1,name=turn
 *
 * Rounds alternate strictly, so for a given --seed the output is the same
 * however the two VMs are scheduled: the producer puts k items into the
 * buffer (k random in [0, free slots]), prints, hands the state over and
 * waits; the consumer takes m (random in [0, items in the buffer]), prints,
 * and hands the state back. Items are numbered from 1; each carries a check
 * word, so a byte copied wrong shows. Both sides check, every round, that
 * their own count of prod_p/cons_p agrees with the hypervisor's
 * (QUANTA_HC_CHAN_INFO) and lies inside the buffer, and the consumer that
 * every item arrives exactly once and in order. Any violation is printed
 * and the VM exits with status PC_FAIL (quanta exits 1).
 */
#ifndef QUANTA_EXAMPLES_PC_H
#define QUANTA_EXAMPLES_PC_H

#include "chanutil.h"

#define PC_CH_BUFFER 0u
#define PC_CH_STATE 1u
#define PC_CH_TURN 2u
#define PC_MAX_SLOTS 64u
#define PC_FAIL 3u

/* The producer has produced every item (state), the consumer has consumed
 * every item (turn): the run is over. */
#define PC_PRODUCER_DONE 1u
#define PC_CONSUMER_DONE 2u

struct pc_item {
    uint32_t seq;   /* 1, 2, 3, ... */
    uint32_t check; /* pc_check(seq) */
};

struct pc_state {
    uint32_t round;
    uint32_t prod_p;   /* ring index the next item goes to */
    uint32_t cons_p;   /* ring index the next item comes from */
    uint32_t used;     /* items in the buffer */
    uint32_t produced; /* items produced so far */
    uint32_t consumed; /* items consumed so far */
    uint32_t flags;    /* PC_PRODUCER_DONE, PC_CONSUMER_DONE */
    uint32_t total;    /* items the producer will produce in all */
};

static inline uint32_t pc_check(uint32_t seq)
{
    return (seq * 0x9e3779b1u) ^ 0x5bd1e995u;
}

/* Who is printing ("producer"/"consumer"), for error lines. */
static const char *pc_self;

static inline __attribute__((noreturn)) void pc_fail_start(void)
{
    /* Callers have written the reason already. */
    fail_line(PC_FAIL);
}

/* A channel call that failed because the other VM has stopped (halted,
 * exited or faulted): quanta woke this side with EPIPE. Says so and fails. */
static inline void pc_check_peer(int32_t ret, uint32_t round, const char *peer)
{
    if (ret != QUANTA_EPIPE)
        return;
    l_str(pc_self);
    l_str(": round ");
    l_u64(round);
    l_str(": the ");
    l_str(peer);
    l_str(" has stopped (EPIPE)");
    pc_fail_start();
}

/* The buffer channel's state from the hypervisor, checked against what this
 * side knows: produced and consumed so far. Returns the info. */
static inline struct quanta_hc_chan_info pc_buffer_info(uint32_t produced, uint32_t consumed)
{
    struct quanta_hc_chan_info info;
    int32_t ret = quanta_chan_info(PC_CH_BUFFER, &info);
    if (ret != QUANTA_OK) {
        l_str(pc_self);
        l_str(": INVARIANT: buffer channel info failed: ");
        l_ret(ret);
        pc_fail_start();
    }
    uint32_t used = produced - consumed;
    /* produced % slots without 64-bit division: counts are 32-bit here. */
    uint32_t want_prod = produced % info.slots;
    uint32_t want_cons = consumed % info.slots;
    if (info.prod_p >= info.slots || info.cons_p >= info.slots || info.used > info.slots ||
        info.used != used || info.prod_p != want_prod || info.cons_p != want_cons ||
        info.sent != produced || info.received != consumed) {
        l_str(pc_self);
        l_str(": INVARIANT: buffer state prod_p=");
        l_u64(info.prod_p);
        l_str(" cons_p=");
        l_u64(info.cons_p);
        l_str(" used=");
        l_u64(info.used);
        l_str(" sent=");
        l_u64(info.sent);
        l_str(" received=");
        l_u64(info.received);
        l_str(", expected prod_p=");
        l_u64(want_prod);
        l_str(" cons_p=");
        l_u64(want_cons);
        l_str(" used=");
        l_u64(used);
        l_str(" (slots ");
        l_u64(info.slots);
        l_str(")");
        pc_fail_start();
    }
    return info;
}

/* Checks the three channels at start-up; says how to declare them if not. */
static inline void pc_check_channels(void)
{
    static const uint32_t want_slots[3] = { 0, 1, 1 };
    for (uint32_t ch = 0; ch < 3; ch++) {
        struct quanta_hc_chan_info info;
        int32_t ret = quanta_chan_info(ch, &info);
        int bad = ret != QUANTA_OK || info.max_size < sizeof(struct pc_state) ||
                  (ch == PC_CH_BUFFER ? info.slots > PC_MAX_SLOTS : info.slots != want_slots[ch]);
        if (bad) {
            l_str(pc_self);
            l_str(": channel ");
            l_u64(ch);
            if (ret != QUANTA_OK) {
                l_str(" missing (");
                l_ret(ret);
            } else {
                l_str(" wrong (slots ");
                l_u64(info.slots);
                l_str(", size ");
                l_u64(info.max_size);
            }
            l_str("); run with --name producer,consumer"
                  " --channel producer:consumer,slots=6"
                  " --channel producer:consumer,slots=1"
                  " --channel consumer:producer,slots=1");
            pc_fail_start();
        }
    }
}

/* The round line: "round R: <what>" padded, then the buffer as quanta holds
 * it (item numbers by ring index, '.' for a free slot), prod_p, cons_p. */
static inline void pc_print_round(uint32_t round, const char *verb, uint32_t count,
                                  uint32_t first, const char *note,
                                  const struct quanta_hc_chan_info *info, uint32_t consumed,
                                  unsigned width)
{
    l_str("round ");
    l_u64(round);
    l_str(": ");
    l_str(verb);
    l_char(' ');
    l_u64(count);
    if (count == 1) {
        l_str(" (item ");
        l_u64(first);
        l_str(")");
    } else if (count > 1) {
        l_str(" (items ");
        l_u64(first);
        l_char('-');
        l_u64(first + count - 1);
        l_str(")");
    } else if (note) {
        l_str(" (");
        l_str(note);
        l_str(")");
    }
    l_pad(31 + 3 * width);
    l_str("buffer [");
    for (uint32_t slot = 0; slot < info->slots; slot++) {
        uint32_t offset = (slot + info->slots - info->cons_p) % info->slots;
        l_char(' ');
        if (offset < info->used) {
            l_u64w(consumed + 1 + offset, width);
        } else {
            for (unsigned i = 1; i < width; i++)
                l_char(' ');
            l_char('.');
        }
    }
    l_str(" ] prod_p=");
    l_u64(info->prod_p);
    l_str(" cons_p=");
    l_u64(info->cons_p);
    l_str(" used=");
    l_u64(info->used);
    l_end();
}

/* Digits of n: the column width of item numbers. */
static inline unsigned pc_width(uint32_t n)
{
    unsigned w = 1;
    while (n >= 10) {
        n /= 10;
        w++;
    }
    return w;
}

#endif /* QUANTA_EXAMPLES_PC_H */
