#include "hvt/HvtBoot.h"

#include <array>
#include <fmt/format.h>

#include "base/Error.h"

namespace quanta::hvt {

namespace {

constexpr std::uint64_t kPresent = 1u << 0;
constexpr std::uint64_t kWritable = 1u << 1;
constexpr std::uint64_t kLargePageBit = 1u << 7;
constexpr std::uint64_t kSmallPage = 0x1000;

constexpr std::uint64_t kCr0Pe = 1u << 0;
constexpr std::uint64_t kCr0Ne = 1u << 5;
constexpr std::uint64_t kCr0Wp = 1u << 16;
constexpr std::uint64_t kCr0Pg = 1ull << 31;
constexpr std::uint64_t kCr4Pae = 1u << 5;
constexpr std::uint64_t kCr4Osfxsr = 1u << 9;
constexpr std::uint64_t kCr4Osxmmexcpt = 1u << 10;
constexpr std::uint64_t kEferLme = 1u << 8;
constexpr std::uint64_t kEferLma = 1u << 10;

constexpr std::uint16_t kCodeSelector = 1 * 8;
constexpr std::uint16_t kDataSelector = 2 * 8;

kvm_segment segment(std::uint16_t selector, std::uint8_t type, bool code)
{
	kvm_segment seg{};
	seg.base = 0;
	seg.limit = 0xffffffff;
	seg.selector = selector;
	seg.type = type;
	seg.present = 1;
	seg.s = 1;
	seg.g = 1;
	seg.l = code ? 1 : 0;
	seg.db = code ? 0 : 1;
	return seg;
}

std::uint64_t descriptor(const kvm_segment &seg)
{
	std::uint64_t limit = seg.g ? (seg.limit >> 12) : seg.limit;
	std::uint64_t access = seg.type | (std::uint64_t{ seg.s } << 4) | (std::uint64_t{ seg.dpl } << 5) |
			       (std::uint64_t{ seg.present } << 7);
	std::uint64_t flags = (std::uint64_t{ seg.l } << 1) | (std::uint64_t{ seg.db } << 2) | (std::uint64_t{ seg.g } << 3);
	return (limit & 0xffff) | ((seg.base & 0xffffff) << 16) | (access << 40) | (((limit >> 16) & 0xf) << 48) |
	       (flags << 52) | ((seg.base >> 24) << 56);
}

void store(GuestMemory &memory, std::uint64_t at, std::uint64_t value)
{
	if (!memory.store(gpa(at), value))
		throw UsageError(fmt::format("hvt boot: {:#x} lies outside guest memory", at));
}

void writePageTables(GuestMemory &memory)
{
	const std::uint64_t size = memory.size();
	memory.fill(gpa(kPml4Base), kPt0Base + kSmallPage - kPml4Base, 0);
	store(memory, kPml4Base, kPdptBase | kPresent | kWritable);
	for (std::uint64_t i = 0; i < 4; ++i)
		store(memory, kPdptBase + i * 8, (kPdBase + i * kSmallPage) | kPresent | kWritable);
	// The first 2 MiB in 4 KiB pages: nothing below the boot info (null
	// pointers and our tables fault in the guest), the boot info area
	// read-only, the kernel's first pages writable.
	store(memory, kPdBase, kPt0Base | kPresent | kWritable);
	for (std::uint64_t page = kBootInfoBase; page < kLargePage; page += kSmallPage) {
		std::uint64_t flags = page < kGuestMinBase ? kPresent : kPresent | kWritable;
		store(memory, kPt0Base + (page / kSmallPage) * 8, page | flags);
	}
	for (std::uint64_t page = kLargePage; page < size; page += kLargePage)
		store(memory, kPdBase + (page / kLargePage) * 8, page | kPresent | kWritable | kLargePageBit);
}

} // namespace

std::uint64_t guestMemorySize(std::uint64_t requested)
{
	std::uint64_t size = requested / kLargePage * kLargePage;
	if (size == 0)
		size = kLargePage;
	if (size > kMaxMemory)
		throw UsageError(fmt::format("guest memory size {} bytes exceeds the max size {} bytes "
					     "(the hvt page tables map 4 GiB)",
					     size, kMaxMemory));
	return size;
}

std::string joinCommandLine(const std::vector<std::string> &args)
{
	std::string line;
	for (std::size_t i = 0; i < args.size(); ++i) {
		if (i)
			line += ' ';
		line += args[i];
	}
	if (line.size() >= kCmdlineSize)
		throw UsageError(fmt::format("Guest command line too long (max={} characters)", kCmdlineSize - 1));
	return line;
}

BootState prepareBoot(GuestMemory &memory, const BootParams &params, const kvm_sregs &initial)
{
	const std::uint64_t size = memory.size();
	if (size < kLargePage || size % kLargePage != 0 || size > kMaxMemory)
		throw UsageError(fmt::format("hvt guest memory of {} bytes is not a multiple of 2 MiB up to 4 GiB", size));
	if (params.cmdline.size() >= kCmdlineSize)
		throw UsageError(fmt::format("Guest command line too long (max={} characters)", kCmdlineSize - 1));

	const kvm_segment code = segment(kCodeSelector, 0xb, true);  // execute/read, accessed
	const kvm_segment data = segment(kDataSelector, 0x3, false); // read/write, accessed
	const std::array<std::uint64_t, 3> gdt = { 0, descriptor(code), descriptor(data) };
	if (!memory.store(gpa(kGdtBase), gdt))
		throw UsageError("hvt boot: GDT lies outside guest memory");
	writePageTables(memory);

	// Boot info, then the manifest, then the command line.
	BootInfo info{};
	info.memSize = size;
	info.kernelEnd = params.kernelEnd;
	info.cpuCycleFreq = params.tscHz;
	std::uint64_t at = kBootInfoBase + sizeof(BootInfo);
	info.manifest = at;
	if (!memory.write(gpa(at), params.manifest))
		throw UsageError("hvt boot: manifest lies outside guest memory");
	at += params.manifest.size();
	info.cmdline = at;
	memory.fill(gpa(at), kCmdlineSize, 0);
	memory.write(gpa(at), { reinterpret_cast<const std::uint8_t *>(params.cmdline.data()), params.cmdline.size() });
	if (!memory.store(gpa(kBootInfoBase), info))
		throw UsageError("hvt boot: boot info lies outside guest memory");

	BootState state{};
	kvm_sregs &sregs = state.sregs;
	sregs = initial;
	sregs.cr0 = kCr0Pe | kCr0Pg | kCr0Ne | kCr0Wp;
	sregs.cr3 = kPml4Base;
	sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
	sregs.efer = kEferLme | kEferLma;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = kGdtBase;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	kvm_segment tr{};
	tr.type = 11; // 64-bit TSS, busy
	tr.present = 1;
	sregs.tr = tr;
	kvm_segment ldt{};
	ldt.unusable = 1;
	sregs.ldt = ldt;

	// The SysV x86-64 convention at a function's entry: (rsp + 8) % 16 == 0,
	// the boot info pointer as the one argument.
	state.regs.rip = params.entry;
	state.regs.rflags = 0x2;
	state.regs.rsp = size - 8;
	state.regs.rdi = kBootInfoBase;
	return state;
}

} // namespace quanta::hvt
