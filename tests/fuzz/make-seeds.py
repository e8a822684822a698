#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/NAME/ (small,
hand-made inputs that reach each protocol's and reader's main paths; the
fuzzers mutate from there). Run again after changing an input format."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(name: str, seed: str, data: bytes) -> None:
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# Byte protocol: pairs (control, byte); control & 7 == 0 is an IN.
def outs(bs: bytes) -> bytes:
    return b"".join(b"\x01" + bytes([b]) for b in bs)


IN = b"\x00\x00"
fd0 = b"\x00\x00\x00\x00"
put("byte-protocol", "open-read-close",
    outs(b"\x01data.txt\x00") + IN * 4 + (outs(b"\x04" + fd0) + IN) * 4 + outs(b"\x03" + fd0) + IN)
put("byte-protocol", "write-local",
    outs(b"\x02notes\x00") + IN * 4 + (outs(b"\x05" + fd0 + b"x") + IN) * 3 + outs(b"\x03" + fd0) + IN)
put("byte-protocol", "copy-on-write",
    outs(b"\x02data.txt\x00") + IN * 4 + outs(b"\x05" + fd0 + b"!") + IN)
put("byte-protocol", "garbage", bytes(range(256)))


# Block protocol: memory = the input; accesses = 5-byte records from the
# start (kind % 5 == 0: a 4-byte OUT of value % 64 KiB).
def request(op, fd=0, buffer=0, length=0, mode=0, offset=0) -> bytes:
    return struct.pack("<IiIIIIqiI", op, fd, buffer, length, mode, 0, offset, 0, 0)


def block_seed(requests) -> bytes:
    mem = bytearray(0x3000)
    accesses = b""
    at = 0x400
    for r in requests:
        mem[at:at + len(r)] = r
        accesses += b"\x00" + struct.pack("<I", at)
        at += 0x40
    mem[0:len(accesses)] = accesses
    mem[0x1000:0x1009] = b"data.txt\x00"
    mem[0x1100:0x1106] = b"local\x00"
    mem[0x2000:0x2010] = b"0123456789abcdef"
    return bytes(mem)


put("block-protocol", "open-read-seek-close", block_seed([
    request(1, buffer=0x1000, length=9, mode=0), request(3, fd=0, buffer=0x2000, length=16),
    request(5, fd=0, mode=0, offset=3), request(2, fd=0)]))
put("block-protocol", "create-write", block_seed([
    request(1, buffer=0x1100, length=6, mode=1), request(4, fd=0, buffer=0x2000, length=16),
    request(2, fd=0)]))
put("block-protocol", "copy-append", block_seed([
    request(1, buffer=0x1000, length=9, mode=2), request(4, fd=0, buffer=0x2000, length=4)]))

# Images: a tiny flat image and minimal ELF32/ELF64 files, one PT_LOAD each.
put("image", "flat", b"\xf4" * 16)


def elf(bits: int) -> bytes:
    code = b"\xf4" * 8
    if bits == 64:
        ehsize, phsize = 64, 56
        header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
            "<HHIQQQIHHHHHH", 2, 62, 1, 0x1000 + ehsize + phsize, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0)
        ph = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x1000, 0x1000, ehsize + phsize + len(code),
                         ehsize + phsize + len(code), 0x1000)
    else:
        ehsize, phsize = 52, 32
        header = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack(
            "<HHIIIIIHHHHHH", 2, 3, 1, 0x1000 + ehsize + phsize, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0)
        ph = struct.pack("<IIIIIIII", 1, 0, 0x1000, 0x1000, ehsize + phsize + len(code),
                         ehsize + phsize + len(code), 5, 0x1000)
    return header + ph + code


put("image", "elf64", elf(64))
put("image", "elf32", elf(32))

# Page walker: byte 0 = kind | pse | cr3-in-memory, CR3, linear, then tables.
def walk_seed(kind: int, cr3: int, linear: int, tables: bytes) -> bytes:
    return bytes([kind | 8]) + struct.pack("<QQ", cr3, linear) + tables


pml4 = bytearray(0x4000)
struct.pack_into("<Q", pml4, 0x0, 0x1003)       # PML4[0] -> PDPT at 0x1000
struct.pack_into("<Q", pml4, 0x1000, 0x2003)    # PDPT[0] -> PD at 0x2000
struct.pack_into("<Q", pml4, 0x2000, 0x0083)    # PD[0]: 2 MiB page at 0
put("pagewalk", "long-2m", walk_seed(3, 0, 0x1234, bytes(pml4)))
struct.pack_into("<Q", pml4, 0x2008, 0x3003)    # PD[1] -> PT at 0x3000
struct.pack_into("<Q", pml4, 0x3000, 0x5003)    # PT[0]: 4 KiB page at 0x5000
put("pagewalk", "long-4k", walk_seed(3, 0, 0x200123, bytes(pml4)))
pd32 = bytearray(0x2000)
struct.pack_into("<I", pd32, 0, 0x1003)
struct.pack_into("<I", pd32, 0x1000, 0x0003)
put("pagewalk", "legacy32", walk_seed(1, 0, 0x123, bytes(pd32)))
put("pagewalk", "pae", walk_seed(2, 0, 0x123, bytes(pml4)))

# Traces: a small valid one and edge values.
trace = ('{"displayTimeUnit":"ms","quanta":{"policy":"stride","quantum_ns":10000000,"wall_ns":30000000,'
         '"level":"exits","dropped_exits":0,"vms":[{"name":"Neo","weight":70,"target_share":0.7},'
         '{"name":"Morpheus","weight":30,"target_share":0.3}]},"traceEvents":['
         '{"ph":"X","cat":"slice","name":"Neo","pid":1,"tid":1,"ts":0.000,"dur":10000.000,'
         '"args":{"end":"timer","ran_ns":9000000,"runs":2}},'
         '{"ph":"X","cat":"exit","name":"io out 0x10","pid":1,"tid":1,"ts":1.000,"dur":2.000,'
         '"args":{"exit":2,"port":16,"out":1,"size":1}},'
         '{"ph":"X","cat":"slice","name":"Morpheus","pid":1,"tid":2,"ts":10000.000,"dur":10000.000,'
         '"args":{"end":"io","ran_ns":8000000,"runs":1}}]}')
put("trace", "small", trace.encode())
put("trace", "huge-quantum", trace.replace("10000000,", "9223372036854775807,", 1).encode())
put("trace", "negative", trace.replace('"ts":10000.000', '"ts":-1e15', 1).encode())

# Experiment files: the shipped ones.
exp = os.path.join(ROOT, "experiments")
for name in sorted(os.listdir(exp)):
    if name.endswith(".toml"):
        with open(os.path.join(exp, name), "rb") as f:
            put("experiment", name[:-5], f.read())
put("experiment", "types", b'quantum = 10\nduration = "1s"\nmemory = [1]\n[[vm]]\nimage = 3\n[[channel]]\nfrom = "a"\n')
