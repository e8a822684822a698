/*
 * quanta guest SDK: host files through the file device on port 0x278
 * (QUANTA_PORT_FILE), header-only, for guests compiled with -m64, -m32 and
 * -m16. The ABI (opcodes, struct quanta_file_request, modes, error codes)
 * is in quanta/abi.h; README.md ("File device") describes the semantics.
 *
 * Files are named by a plain name: a file shared with -f is named by its
 * base name ("data.txt" for -f dir/data.txt); a name that is not shared is
 * a local file of this guest once it has been opened for writing. Paths
 * ('/', ".."), over-long names and names of files this guest cannot see
 * are refused with an error code.
 *
 * Two protocols:
 *
 *   q_f*   the block protocol: one 4-byte OUT per call, of the
 *          guest-physical address of a struct quanta_file_request that
 *          quanta fills in. Whole buffers per call. Results: a descriptor,
 *          a byte count, a position or 0 on success; a negative QUANTA_E*
 *          code on failure (QUANTA_ENOENT, QUANTA_EACCES, QUANTA_EMFILE...).
 *
 *   qb_f*  the mini_hypervisor byte protocol: 1-byte OUTs and INs, one
 *          exit per byte, compatible with guests written for that
 *          assignment. Errors are just -1 (the device answers 0xFF, so a
 *          0xFF byte in a file reads as end of file).
 *
 * Buffers and names are passed by guest-physical address (q_gpa): in
 * protected, paged and long mode a pointer (identity map, flat segments);
 * in real mode DS * 16 + offset. Both protocols work in every mode.
 */
#ifndef QUANTA_FILES_H
#define QUANTA_FILES_H

#include <quanta/hypercall.h>

/* ---- Block protocol --------------------------------------------------------- */

/* One request: the OUT of its address. The block is an in/out operand, and
 * "memory" covers the buffer quanta reads or fills. */
static inline int32_t q_file_request(struct quanta_file_request *r)
{
    __asm__ volatile("outl %1, %2"
                     : "+m"(*r)
                     : "a"(q_gpa(r)), "Nd"((uint16_t)QUANTA_PORT_FILE)
                     : "memory");
    return r->ret;
}

static inline void q_file_clear_(struct quanta_file_request *r, uint32_t op)
{
    r->op = op;
    r->fd = -1;
    r->buffer = 0;
    r->length = 0;
    r->mode = 0;
    r->reserved = 0;
    r->offset = 0;
    /* What the guest sees if quanta cannot write the result back. */
    r->ret = QUANTA_ENOSYS;
    r->reserved2 = 0;
}

/* An fopen mode string ("r", "w", "a", "r+", "w+", "a+"; a 'b' anywhere
 * after the first letter is accepted and ignored, as in C) as a
 * QUANTA_FILE_MODE_* value, or -1 for anything else. */
static inline int q_file_mode(const char *mode)
{
    int base;
    int plus = 0;
    switch (mode[0]) {
    case 'r':
        base = 0;
        break;
    case 'w':
        base = 1;
        break;
    case 'a':
        base = 2;
        break;
    default:
        return -1;
    }
    for (const char *p = mode + 1; *p; p++) {
        if (*p == '+' && !plus)
            plus = 1;
        else if (*p != 'b')
            return -1;
    }
    static const int modes[2][3] = {
        { QUANTA_FILE_MODE_R, QUANTA_FILE_MODE_W, QUANTA_FILE_MODE_A },
        { QUANTA_FILE_MODE_RPLUS, QUANTA_FILE_MODE_WPLUS, QUANTA_FILE_MODE_APLUS },
    };
    return modes[plus][base];
}

static inline uint32_t q_file_strlen_(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Opens name with a QUANTA_FILE_MODE_* value: a descriptor (>= 0) or
 * -errno. */
static inline int32_t q_fopen_mode(const char *name, uint32_t mode)
{
    struct quanta_file_request r;
    q_file_clear_(&r, QUANTA_FILE_OPEN);
    r.buffer = q_gpa(name);
    r.length = q_file_strlen_(name) + 1; /* with the NUL */
    r.mode = mode;
    return q_file_request(&r);
}

/* fopen: mode as in C ("r", "w", "a", "r+", "w+", "a+"). A descriptor
 * (>= 0) or -errno (QUANTA_EINVAL for a mode string it does not know). */
static inline int32_t q_fopen(const char *name, const char *mode)
{
    int m = q_file_mode(mode);
    if (m < 0)
        return QUANTA_EINVAL;
    return q_fopen_mode(name, (uint32_t)m);
}

/* 0 or -errno. A descriptor invalidated by copy-on-write (this guest opened
 * the same shared file for writing after it) is released and gives
 * QUANTA_EBADF. */
static inline int32_t q_fclose(int32_t fd)
{
    struct quanta_file_request r;
    q_file_clear_(&r, QUANTA_FILE_CLOSE);
    r.fd = fd;
    return q_file_request(&r);
}

/* One read or write request of at most QUANTA_FILE_MAX_IO bytes. */
static inline int32_t q_file_io_(uint32_t op, int32_t fd, uint32_t buffer_gpa, uint32_t len)
{
    struct quanta_file_request r;
    q_file_clear_(&r, op);
    r.fd = fd;
    r.buffer = buffer_gpa;
    r.length = len;
    return q_file_request(&r);
}

/* Reads up to len bytes into buf: the number read (less than len only at
 * end of file, 0 there) or -errno. Larger reads take one request per
 * QUANTA_FILE_MAX_IO bytes; an error after some bytes were read returns
 * the bytes read. */
static inline int32_t q_fread(int32_t fd, void *buf, uint32_t len)
{
    uint32_t done = 0;
    uint32_t at = q_gpa(buf);
    while (done < len) {
        uint32_t chunk = len - done > QUANTA_FILE_MAX_IO ? QUANTA_FILE_MAX_IO : len - done;
        int32_t n = q_file_io_(QUANTA_FILE_READ, fd, at + done, chunk);
        if (n < 0)
            return done ? (int32_t)done : n;
        done += (uint32_t)n;
        if ((uint32_t)n < chunk)
            break;
    }
    return (int32_t)done;
}

/* Writes len bytes from buf: len, or -errno (QUANTA_EFBIG when the file
 * would grow past --file-max-size: nothing of that request is written);
 * an error after some bytes were written returns the bytes written. */
static inline int32_t q_fwrite(int32_t fd, const void *buf, uint32_t len)
{
    uint32_t done = 0;
    uint32_t at = q_gpa(buf);
    while (done < len) {
        uint32_t chunk = len - done > QUANTA_FILE_MAX_IO ? QUANTA_FILE_MAX_IO : len - done;
        int32_t n = q_file_io_(QUANTA_FILE_WRITE, fd, at + done, chunk);
        if (n < 0)
            return done ? (int32_t)done : n;
        done += (uint32_t)n;
    }
    return (int32_t)done;
}

/* Moves the position: whence QUANTA_SEEK_SET, _CUR or _END. The new
 * position from the start of the file, or -errno. */
static inline int64_t q_fseek(int32_t fd, int64_t offset, uint32_t whence)
{
    struct quanta_file_request r;
    q_file_clear_(&r, QUANTA_FILE_SEEK);
    r.fd = fd;
    r.offset = offset;
    r.mode = whence;
    int32_t ret = q_file_request(&r);
    return ret < 0 ? ret : r.offset;
}

/* A name for a file device result ("OK", "ENOENT", ...; "count" for
 * positive results). */
static inline const char *q_file_strerror(int32_t ret)
{
    switch (ret) {
    case QUANTA_OK:
        return "OK";
    case QUANTA_ENOENT:
        return "ENOENT";
    case QUANTA_EIO:
        return "EIO";
    case QUANTA_E2BIG:
        return "E2BIG";
    case QUANTA_EBADF:
        return "EBADF";
    case QUANTA_EACCES:
        return "EACCES";
    case QUANTA_EFAULT:
        return "EFAULT";
    case QUANTA_EEXIST:
        return "EEXIST";
    case QUANTA_EINVAL:
        return "EINVAL";
    case QUANTA_EMFILE:
        return "EMFILE";
    case QUANTA_EFBIG:
        return "EFBIG";
    case QUANTA_ENAMETOOLONG:
        return "ENAMETOOLONG";
    case QUANTA_ENOSYS:
        return "ENOSYS";
    case QUANTA_ENOSPC:
        return "ENOSPC";
    case QUANTA_EDQUOT:
        return "EDQUOT";
    default:
        return ret > 0 ? "count" : "error";
    }
}

/* ---- Byte protocol (mini_hypervisor) ---------------------------------------- */

static inline void qb_put_fd_(uint8_t opcode, int32_t fd)
{
    uint32_t v = (uint32_t)fd;
    outb(QUANTA_PORT_FILE, opcode);
    outb(QUANTA_PORT_FILE, (uint8_t)(v >> 24)); /* big-endian */
    outb(QUANTA_PORT_FILE, (uint8_t)(v >> 16));
    outb(QUANTA_PORT_FILE, (uint8_t)(v >> 8));
    outb(QUANTA_PORT_FILE, (uint8_t)v);
}

/* Opens name for reading (write = 0) or writing (write != 0: "w", which
 * creates and truncates; a shared file becomes this guest's copy). A
 * descriptor, or -1. */
static inline int32_t qb_fopen(const char *name, int write)
{
    outb(QUANTA_PORT_FILE, write ? QUANTA_FILE_BYTE_OPEN_WRITE : QUANTA_FILE_BYTE_OPEN_READ);
    for (const char *p = name; *p; p++)
        outb(QUANTA_PORT_FILE, (uint8_t)*p);
    outb(QUANTA_PORT_FILE, 0);
    uint32_t fd = 0;
    for (int i = 0; i < 4; i++)
        fd = (fd << 8) | inb(QUANTA_PORT_FILE);
    return (int32_t)fd;
}

/* 0, or -1. */
static inline int32_t qb_fclose(int32_t fd)
{
    qb_put_fd_(QUANTA_FILE_BYTE_CLOSE, fd);
    return inb(QUANTA_PORT_FILE) == 0 ? 0 : -1;
}

/* The next byte, or -1 at end of file or on an error (a 0xFF byte in the
 * file reads as -1 too: the protocol has no other way to say it). */
static inline int qb_fgetc(int32_t fd)
{
    qb_put_fd_(QUANTA_FILE_BYTE_READ, fd);
    uint8_t c = inb(QUANTA_PORT_FILE);
    return c == 0xFF ? -1 : (int)c;
}

/* Writes one byte: c, or -1 on an error (writing 0xFF cannot be told from
 * an error and counts as written). */
static inline int qb_fputc(int32_t fd, uint8_t c)
{
    qb_put_fd_(QUANTA_FILE_BYTE_WRITE, fd);
    outb(QUANTA_PORT_FILE, c);
    uint8_t echo = inb(QUANTA_PORT_FILE);
    return echo == c ? (int)c : -1;
}

/* Up to len bytes, one byte (six exits) at a time: the number read, less
 * than len at end of file or on an error. */
static inline uint32_t qb_fread(int32_t fd, void *buf, uint32_t len)
{
    uint8_t *p = (uint8_t *)buf;
    uint32_t n = 0;
    while (n < len) {
        int c = qb_fgetc(fd);
        if (c < 0)
            break;
        p[n++] = (uint8_t)c;
    }
    return n;
}

/* len bytes, one byte (seven exits) at a time: the number written, less
 * than len on an error. */
static inline uint32_t qb_fwrite(int32_t fd, const void *buf, uint32_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t n = 0;
    while (n < len && qb_fputc(fd, p[n]) >= 0)
        n++;
    return n;
}

#endif /* QUANTA_FILES_H */
