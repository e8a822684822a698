#include "app/Run.h"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

#include "base/Error.h"
#include "host/Console.h"
#include "host/Input.h"
#include "kvm/Kvm.h"
#include "vmm/Machine.h"

namespace quanta {

namespace {

void report(const std::string &vm, const std::string &text)
{
	fmt::print(stderr, "quanta: {}: {}\n", vm, text);
}

} // namespace

int run(const Options &options)
{
	// Every image is read and loaded before KVM is touched, so a bad image
	// is reported as a usage error and no VM has run yet.
	std::vector<PreparedGuest> prepared;
	for (const GuestConfig &config : options.guests)
		prepared.push_back(prepareGuest(config));

	Kvm kvm;
	Console console(STDOUT_FILENO, options.prefixOutput);
	BlockingFdInput stdinInput(STDIN_FILENO);
	NoInput noInput;
	MachineOptions machineOptions{ options.unknownPorts };

	std::vector<std::unique_ptr<Machine>> machines;
	for (std::size_t i = 0; i < prepared.size(); ++i) {
		std::size_t id = console.addVm(prepared[i].name);
		// Standard input goes to the first VM; the others see end of input.
		InputSource &input = i == 0 ? static_cast<InputSource &>(stdinInput) : noInput;
		machines.push_back(std::make_unique<Machine>(kvm, std::move(prepared[i]), console, id,
							     input, machineOptions));
	}

	// Until the scheduler lands, guests run one after another.
	int status = kExitOk;
	for (std::size_t i = 0; i < machines.size(); ++i) {
		Machine &machine = *machines[i];
		for (;;) {
			ExitOutcome outcome = machine.run();
			if (outcome.action == ExitAction::Continue || outcome.action == ExitAction::Interrupted)
				continue;
			console.flush(i);
			if (outcome.action == ExitAction::Halt) {
				report(machine.name(), fmt::format("halted after {} exits", machine.stats().guestExits));
			} else if (outcome.action == ExitAction::Fault) {
				report(machine.name(), "stopped: " + outcome.diagnosis);
				status = kExitGuestFault;
			} else {
				// Park cannot happen with blocking input; treat as a fault.
				report(machine.name(), "stopped: waiting for input that cannot come");
				status = kExitGuestFault;
			}
			break;
		}
	}
	return status;
}

} // namespace quanta
