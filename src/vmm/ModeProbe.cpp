#include "vmm/ModeProbe.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/UniqueFd.h"
#include "host/Console.h"
#include "host/Input.h"
#include "vmm/FaultHint.h"
#include "vmm/Machine.h"

namespace quanta {

namespace {

// mov al, 'K'; out 0xe9, al; hlt -- the same bytes in 16, 32 and 64-bit code.
const std::vector<std::uint8_t> kProbe = { 0xb0, 'K', 0xe6, 0xe9, 0xf4 };

std::string runProbe(const Kvm &kvm, CpuMode mode, PageSize pageSize)
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return "pipe failed";
	UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
	Console console(writeEnd.get(), false);
	NoInput input;

	const std::string label = modeLabel(mode, pageSize);
	GuestConfig config;
	config.name = label;
	config.imagePath = "probe";
	config.mode = mode;
	config.pageSize = pageSize;
	config.flatLoad = 0x1000;
	PreparedGuest guest = prepareGuest(config, ImageFile::fromBytes("probe", kProbe));
	// The probe VM lingers until kvm goes (its kvm_run page is in kvm's
	// arena); its memory need not: a probe is rare, one notifier walk.
	const std::unique_ptr<GuestMemory> memory = std::move(guest.memory);
	Machine machine(kvm, kvm.createVm(), *memory, std::move(guest), console, console.addVm(label), input, {});
	machine.explainFaults(false); // the probe is the explanation
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

std::string probeMode(const Kvm &kvm, CpuMode mode, PageSize pageSize)
{
	try {
		return runProbe(kvm, mode, pageSize);
	} catch (const std::exception &e) {
		return e.what();
	}
}

} // namespace quanta
