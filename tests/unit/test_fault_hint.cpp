// A fault in a guest's first instructions: when to probe the host's KVM,
// and the hint for a flat image started in the default (long) mode.
#include <doctest/doctest.h>
#include <string>

#include "vmm/FaultHint.h"

using namespace quanta;

namespace {

// hello16.bin without --mode: flat, long mode, faulted at rip 0x6 on its
// first exit.
FaultFacts flatInLongMode()
{
	FaultFacts facts;
	facts.format = ImageFormat::Flat;
	facts.mode = CpuMode::Long;
	facts.entry = 0;
	facts.exits = 1;
	facts.rip = 0x6;
	return facts;
}

} // namespace

TEST_CASE("a flat image that faults at once in the default mode gets the --mode real hint")
{
	FaultFacts facts = flatInLongMode();
	CHECK(imageHint(facts) == "flat images start in long mode; is this a 16-bit image? try --mode real");
	// A few exits (it printed a byte or two before dying) still count.
	facts.exits = 4;
	CHECK_FALSE(imageHint(facts).empty());
	// Unknown rip, or the reset vector (full KVM resets the vCPU after a
	// triple fault): the exit count alone decides.
	facts.rip.reset();
	CHECK_FALSE(imageHint(facts).empty());
	facts.rip = 0xfff0;
	CHECK_FALSE(imageHint(facts).empty());
}

TEST_CASE("no hint where the mode is not the likely cause")
{
	FaultFacts facts = flatInLongMode();
	facts.modeGiven = true; // the user chose long mode
	CHECK(imageHint(facts).empty());

	facts = flatInLongMode();
	facts.format = ImageFormat::Elf64; // an ELF says its own mode
	CHECK(imageHint(facts).empty());

	facts = flatInLongMode();
	facts.exits = 5; // it ran a while: its code, not its mode
	CHECK(imageHint(facts).empty());

	facts = flatInLongMode();
	facts.rip = 0x40; // past its first few instructions
	CHECK(imageHint(facts).empty());
	facts.entry = 0x1000;
	facts.rip = 0x10; // below its entry: it jumped somewhere
	CHECK(imageHint(facts).empty());

	facts = flatInLongMode();
	facts.hvt = true;
	CHECK(imageHint(facts).empty());
}

TEST_CASE("the mode is probed only when the fault was the guest's first exit")
{
	FaultFacts facts;
	facts.mode = CpuMode::Paged;
	facts.exits = 1;
	CHECK(worthModeProbe(facts));
	facts.exits = 2;
	CHECK_FALSE(worthModeProbe(facts));
	facts.exits = 1;
	facts.hvt = true; // Solo5 guests boot in long mode, their own way
	CHECK_FALSE(worthModeProbe(facts));
}

TEST_CASE("the host's message names the mode as --kvm-check does, the guest's fault and the way out")
{
	FaultFacts facts;
	facts.mode = CpuMode::Paged;
	facts.pageSize = PageSize::Size4K;
	std::string message = hostCannotRunMessage(facts, "triple fault (KVM_EXIT_SHUTDOWN) at rip 0x1000");
	CHECK(message.rfind("this host's KVM cannot run paged 4K (32-bit paging) guests (triple fault "
			    "(KVM_EXIT_SHUTDOWN) at rip 0x1000, ",
			    0) == 0);
	CHECK(message.find("quanta --kvm-check") != std::string::npos);
	CHECK(message.find("tools/kvm-run -- quanta") != std::string::npos);
	CHECK(message.find('\n') == std::string::npos);

	CHECK(modeLabel(CpuMode::Paged, PageSize::Size2M) == "paged 2M (PAE)");
	CHECK(modeLabel(CpuMode::Long, PageSize::Size2M) == "long 2M");
	CHECK(modeLabel(CpuMode::Real, PageSize::Size2M) == "real");
}
