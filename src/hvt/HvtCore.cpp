#include "hvt/HvtCore.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>
#include <vector>

#include "base/Error.h"
#include "base/UniqueFd.h"

namespace quanta::hvt {

namespace {

constexpr std::size_t kPage = 4096;

void writeAt(int fd, const void *data, std::size_t size, off_t offset, const std::string &path)
{
	const auto *bytes = static_cast<const std::uint8_t *>(data);
	std::size_t done = 0;
	while (done < size) {
		ssize_t n = ::pwrite(fd, bytes + done, size - done, offset + static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			throw HostError(fmt::format("write {}", path), n < 0 ? errno : EIO);
		done += static_cast<std::size_t>(n);
	}
}

prstatus_t prstatus(const kvm_regs &k, const kvm_sregs &s, const std::optional<TrapFrame> &trap)
{
	prstatus_t status;
	std::memset(&status, 0, sizeof(status));
	user_regs_struct regs{};
	regs.r15 = k.r15, regs.r14 = k.r14, regs.r13 = k.r13, regs.r12 = k.r12;
	regs.rbp = k.rbp, regs.rbx = k.rbx, regs.r11 = k.r11, regs.r10 = k.r10;
	regs.r9 = k.r9, regs.r8 = k.r8, regs.rax = k.rax, regs.rcx = k.rcx;
	regs.rdx = k.rdx, regs.rsi = k.rsi, regs.rdi = k.rdi, regs.rip = k.rip;
	regs.eflags = k.rflags, regs.rsp = k.rsp;
	regs.cs = s.cs.selector, regs.ss = s.ss.selector, regs.ds = s.ds.selector;
	regs.es = s.es.selector, regs.fs = s.fs.selector, regs.gs = s.gs.selector;
	regs.fs_base = s.fs.base, regs.gs_base = s.gs.base;
	if (trap) {
		// Where the guest trapped, not where it called halt.
		regs.rip = trap->rip, regs.cs = trap->cs, regs.eflags = trap->rflags;
		regs.rsp = trap->rsp, regs.ss = trap->ss;
	}
	static_assert(sizeof(status.pr_reg) == sizeof(regs));
	std::memcpy(&status.pr_reg, &regs, sizeof(regs));
	return status;
}

} // namespace

std::string coreFileName(int pid)
{
	return fmt::format("core.solo5-hvt.{}", pid);
}

std::size_t writeCore(const std::string &dir, const std::string &name, const GuestMemory &memory,
		      const kvm_regs &regs, const kvm_sregs &sregs, const std::optional<TrapFrame> &trap)
{
	const std::string path = dir + "/" + name;
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (!fd.valid())
		throw HostError(fmt::format("open {}", path), errno);

	const char noteName[8] = "CORE";
	const prstatus_t status = prstatus(regs, sregs, trap);
	const std::size_t noteSize = sizeof(Elf64_Nhdr) + sizeof(noteName) + sizeof(status);
	const std::size_t headers = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	const std::size_t memoryOffset = (headers + noteSize + kPage - 1) / kPage * kPage;

	Elf64_Ehdr ehdr{};
	std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
	ehdr.e_ident[EI_CLASS] = ELFCLASS64;
	ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
	ehdr.e_ident[EI_VERSION] = EV_CURRENT;
	ehdr.e_ident[EI_OSABI] = ELFOSABI_STANDALONE;
	ehdr.e_type = ET_CORE;
	ehdr.e_machine = EM_X86_64;
	ehdr.e_version = EV_CURRENT;
	ehdr.e_phoff = sizeof(Elf64_Ehdr);
	ehdr.e_ehsize = sizeof(Elf64_Ehdr);
	ehdr.e_phentsize = sizeof(Elf64_Phdr);
	ehdr.e_phnum = 2;
	Elf64_Phdr phdrs[2]{};
	phdrs[0].p_type = PT_NOTE;
	phdrs[0].p_offset = headers;
	phdrs[0].p_filesz = phdrs[0].p_memsz = noteSize;
	phdrs[1].p_type = PT_LOAD;
	phdrs[1].p_offset = memoryOffset;
	phdrs[1].p_filesz = phdrs[1].p_memsz = memory.size();
	phdrs[1].p_flags = PF_R | PF_W | PF_X;
	Elf64_Nhdr nhdr{ sizeof(noteName), sizeof(status), NT_PRSTATUS };

	std::vector<std::uint8_t> head(headers + noteSize);
	std::uint8_t *at = head.data();
	auto put = [&](const void *data, std::size_t size) {
		std::memcpy(at, data, size);
		at += size;
	};
	put(&ehdr, sizeof(ehdr));
	put(phdrs, sizeof(phdrs));
	put(&nhdr, sizeof(nhdr));
	put(noteName, sizeof(noteName));
	put(&status, sizeof(status));
	writeAt(fd.get(), head.data(), head.size(), 0, path);

	// Only pages the host has backed (mincore): the rest read as zeros
	// and stay holes.
	const auto *base = static_cast<const std::uint8_t *>(memory.hostBase());
	const std::size_t pages = (memory.size() + kPage - 1) / kPage;
	std::vector<unsigned char> resident(pages);
	if (::mincore(const_cast<std::uint8_t *>(base), memory.size(), resident.data()) != 0)
		throw HostError("mincore of guest memory", errno);
	std::size_t written = 0;
	for (std::size_t page = 0; page < pages; ++page) {
		if (!(resident[page] & 1))
			continue;
		std::size_t size = std::min(kPage, memory.size() - page * kPage);
		writeAt(fd.get(), base + page * kPage, size, static_cast<off_t>(memoryOffset + page * kPage), path);
		++written;
	}
	if (::ftruncate(fd.get(), static_cast<off_t>(memoryOffset + memory.size())) != 0)
		throw HostError(fmt::format("ftruncate {}", path), errno);
	return written;
}

} // namespace quanta::hvt
