#include "app/KvmCheck.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "base/Error.h"
#include "base/UniqueFd.h"
#include "host/Console.h"
#include "host/Input.h"
#include "kvm/Kvm.h"
#include "vmm/Machine.h"

namespace quanta {

namespace {

// mov al, 'K'; out 0xe9, al; hlt -- the same bytes in 16, 32 and 64-bit code.
const std::vector<std::uint8_t> kProbe = { 0xb0, 'K', 0xe6, 0xe9, 0xf4 };

struct ProbeCase {
	const char *label;
	CpuMode mode;
	PageSize pageSize;
};

// Runs the probe; returns an empty string on success, else what went wrong.
std::string probe(const Kvm &kvm, const ProbeCase &c)
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return "pipe failed";
	UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
	Console console(writeEnd.get(), false);
	NoInput input;

	GuestConfig config;
	config.name = c.label;
	config.imagePath = "probe";
	config.mode = c.mode;
	config.pageSize = c.pageSize;
	config.flatLoad = 0x1000;
	PreparedGuest guest = prepareGuest(config, ImageFile::fromBytes("probe", kProbe));
	Machine machine(kvm, std::move(guest), console, console.addVm(c.label), input, {});
	for (int i = 0; i < 16; ++i) {
		ExitOutcome outcome = machine.run();
		if (outcome.action == ExitAction::Fault)
			return outcome.diagnosis;
		if (outcome.action == ExitAction::Halt) {
			console.flushAll();
			char byte = 0;
			if (::read(readEnd.get(), &byte, 1) != 1 || byte != 'K')
				return "halted without printing";
			return {};
		}
	}
	return "did not halt";
}

} // namespace

int checkKvm()
{
	const ProbeCase cases[] = {
		{ "real", CpuMode::Real, PageSize::Size4K },
		{ "protected", CpuMode::Protected, PageSize::Size4K },
		{ "paged 4K (32-bit paging)", CpuMode::Paged, PageSize::Size4K },
		{ "paged 2M (PAE)", CpuMode::Paged, PageSize::Size2M },
		{ "long 4K", CpuMode::Long, PageSize::Size4K },
		{ "long 2M", CpuMode::Long, PageSize::Size2M },
	};
	Kvm kvm;
	int failed = 0;
	for (const ProbeCase &c : cases) {
		std::string error;
		try {
			error = probe(kvm, c);
		} catch (const std::exception &e) {
			error = e.what();
		}
		fmt::print("{:<26} {}\n", c.label, error.empty() ? "ok" : "FAILED: " + error);
		failed += !error.empty();
	}
	return failed ? kExitHost : kExitOk;
}

} // namespace quanta
