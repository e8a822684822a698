/*
 * files-bench64: throughput of the byte protocol against the block
 * protocol, in one run. Standard input gives two sizes in bytes, "BYTE
 * BLOCK" (default "4096 16777216"): BYTE bytes are written to a local file
 * with the byte protocol (seven exits per byte) and read back (six exits
 * per byte), BLOCK bytes with the block protocol (one exit per 64 KiB).
 * Each phase is timed with the native clock hypercall; one line each:
 *
 *   byte-write BYTES NS
 *   byte-read BYTES NS
 *   block-write BYTES NS
 *   block-read BYTES NS
 *
 * tools/bench-files turns them into MB/s and the block/byte ratio.
 * Data read back is checked; a mismatch prints "MISMATCH" and exits 1.
 */
#include <quanta/files.h>

static uint8_t buf[QUANTA_FILE_MAX_IO];
static uint8_t back[QUANTA_FILE_MAX_IO];

static uint64_t read_number(uint64_t fallback)
{
    int c = q_getc();
    while (c == ' ' || c == '\n')
        c = q_getc();
    if (c < '0' || c > '9')
        return fallback;
    uint64_t v = 0;
    for (; c >= '0' && c <= '9'; c = q_getc())
        v = v * 10 + (uint64_t)(c - '0');
    return v;
}

static uint64_t now(void)
{
    uint64_t ns = 0;
    quanta_clock_ns(&ns);
    return ns;
}

static void report(const char *what, uint64_t bytes, uint64_t t0, uint64_t t1)
{
    q_puts(what);
    q_putc(' ');
    q_put_u64(bytes);
    q_putc(' ');
    q_put_u64(t1 - t0);
    q_putc('\n');
}

static void fail(const char *what)
{
    q_puts("MISMATCH: ");
    q_puts(what);
    q_putc('\n');
    quanta_exit(1);
}

int main(void)
{
    uint64_t byte_bytes = read_number(4096);
    uint64_t block_bytes = read_number(16u << 20);
    /* Never 0xFF: the byte protocol reads that as end of file. */
    for (uint32_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)('a' + i % 26);

    /* ---- Byte protocol ---- */
    int32_t w = qb_fopen("bench-byte.dat", 1);
    uint64_t done = 0;
    uint64_t t0 = now();
    while (done < byte_bytes) {
        uint32_t chunk = byte_bytes - done > sizeof buf ? sizeof buf : (uint32_t)(byte_bytes - done);
        if (qb_fwrite(w, buf, chunk) != chunk)
            fail("byte write");
        done += chunk;
    }
    uint64_t t1 = now();
    qb_fclose(w);
    report("byte-write", done, t0, t1);

    int32_t r = qb_fopen("bench-byte.dat", 0);
    done = 0;
    t0 = now();
    while (done < byte_bytes) {
        uint32_t chunk = byte_bytes - done > sizeof back ? sizeof back : (uint32_t)(byte_bytes - done);
        if (qb_fread(r, back, chunk) != chunk)
            fail("byte read: short");
        done += chunk;
    }
    t1 = now();
    qb_fclose(r);
    for (uint32_t i = 0; i < byte_bytes && i < sizeof back; i++)
        if (back[i] != buf[i])
            fail("byte read: data");
    report("byte-read", done, t0, t1);

    /* ---- Block protocol ---- */
    w = q_fopen("bench-block.dat", "w");
    done = 0;
    t0 = now();
    while (done < block_bytes) {
        uint32_t chunk = block_bytes - done > sizeof buf ? sizeof buf : (uint32_t)(block_bytes - done);
        if (q_fwrite(w, buf, chunk) != (int32_t)chunk)
            fail("block write");
        done += chunk;
    }
    t1 = now();
    q_fclose(w);
    report("block-write", done, t0, t1);

    r = q_fopen("bench-block.dat", "r");
    done = 0;
    t0 = now();
    while (done < block_bytes) {
        uint32_t chunk = block_bytes - done > sizeof back ? sizeof back : (uint32_t)(block_bytes - done);
        if (q_fread(r, back, chunk) != (int32_t)chunk)
            fail("block read: short");
        done += chunk;
    }
    t1 = now();
    q_fclose(r);
    for (uint32_t i = 0; i < sizeof back && i < block_bytes; i++)
        if (back[i] != buf[i])
            fail("block read: data");
    report("block-read", done, t0, t1);
    return 0;
}
