#include "vmm/FaultHint.h"

#include <fmt/format.h>

namespace quanta {

namespace {

// "Its first few instructions": a 16-bit image decoded as 64-bit code
// usually dies within a handful of bytes of its entry.
constexpr std::uint64_t kEarlyBytes = 0x40;
constexpr std::uint64_t kEarlyExits = 4;
// After a triple fault, KVM on a real CPU has reset the vCPU: its rip reads
// the reset vector, which says nothing about where the guest died.
constexpr std::uint64_t kResetVectorRip = 0xfff0;

} // namespace

std::string modeLabel(CpuMode mode, PageSize pageSize)
{
	bool big = pageSize == PageSize::Size2M;
	switch (mode) {
	case CpuMode::Real:
		return "real";
	case CpuMode::Protected:
		return "protected";
	case CpuMode::Paged:
		return big ? "paged 2M (PAE)" : "paged 4K (32-bit paging)";
	case CpuMode::Long:
		return big ? "long 2M" : "long 4K";
	}
	return "?";
}

bool worthModeProbe(const FaultFacts &facts)
{
	return !facts.hvt && facts.exits <= 1;
}

std::string imageHint(const FaultFacts &facts)
{
	if (facts.hvt || facts.modeGiven || facts.format != ImageFormat::Flat || facts.exits > kEarlyExits)
		return {};
	if (facts.rip && *facts.rip != kResetVectorRip &&
	    (*facts.rip < facts.entry || *facts.rip - facts.entry >= kEarlyBytes))
		return {};
	return "flat images start in long mode; is this a 16-bit image? try --mode real";
}

std::string hostCannotRunMessage(const FaultFacts &facts, const std::string &fault)
{
	return fmt::format("this host's KVM cannot run {} guests ({}, and a 5-byte probe in that mode fails too; "
			   "quanta --kvm-check lists the modes it runs): run quanta inside the KVM sandbox, "
			   "tools/kvm-run -- quanta ... (docs/sandbox.md)",
			   modeLabel(facts.mode, facts.pageSize), fault);
}

} // namespace quanta
