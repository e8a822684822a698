#include "trace/Explain.h"

#include <fmt/format.h>
#include <linux/kvm.h>
#include <utility>

namespace quanta::trace {

namespace {

struct Reason {
	std::string_view call;
	std::string_view why;
};

// Keyed by the name kvmIoctl is given (and the two non-ioctl steps the
// observer is told about: opening the device and mapping kvm_run).
constexpr Reason kReasons[] = {
	{ "open()", "the KVM subsystem; VMs are created through this fd" },
	{ "KVM_GET_API_VERSION", "the stable KVM API is version 12; quanta refuses anything else" },
	{ "KVM_GET_VCPU_MMAP_SIZE",
	  "size of the kvm_run area each vCPU shares with quanta (exit reason and I/O data land there)" },
	{ "KVM_GET_SUPPORTED_CPUID", "the CPUID leaves this KVM can offer; every vCPU gets them unchanged" },
	{ "KVM_CREATE_VM", "a new, empty VM: no memory and no vCPU yet" },
	{ "KVM_CHECK_EXTENSION",
	  "asks for an optional capability: KVM_CAP_SET_TSS_ADDR (Intel needs a TSS address for real mode)" },
	{ "KVM_SET_TSS_ADDR", "three pages outside guest memory that KVM may use to emulate real mode" },
	{ "KVM_CREATE_VCPU", "vCPU 0 of this VM; KVM_RUN is called on the fd it returns" },
	{ "mmap kvm_run", "maps the vCPU's kvm_run area: after every KVM_RUN it says why the guest exited" },
	{ "KVM_SET_USER_MEMORY_REGION",
	  "slot 0: quanta's buffer becomes guest-physical 0..M (the image is already in it)" },
	{ "KVM_SET_CPUID2", "what CPUID tells the guest (the supported leaves, unchanged)" },
	{ "KVM_GET_SREGS", "the vCPU's reset state of segments and control registers, to start from" },
	{ "KVM_SET_SREGS", "segments, GDT and CR0/CR3/CR4/EFER for the CPU mode (paging on for paged/long)" },
	{ "KVM_SET_REGS", "rip = entry point, rsp = top of the stack, rflags = 0x2: where the guest starts" },
	{ "KVM_SET_SIGNAL_MASK",
	  "the kick signal, SIGINT and SIGTERM are unblocked only inside KVM_RUN: a kick is never lost" },
	{ "KVM_GET_REGS", "reads the guest's registers" },
};

std::string duration(Nanos ns)
{
	double v = static_cast<double>(ns);
	if (ns >= 1'000'000)
		return fmt::format("{:.2f} ms", v / 1e6);
	if (ns >= 1'000)
		return fmt::format("{:.1f} us", v / 1e3);
	return fmt::format("{} ns", ns);
}

std::string resultText(std::string_view call, long result)
{
	if (call.starts_with("open(") || call.starts_with("KVM_CREATE"))
		return fmt::format("fd {}", result);
	if (call == "KVM_GET_VCPU_MMAP_SIZE" || call == "mmap kvm_run")
		return fmt::format("{} bytes", result);
	if (call == "KVM_GET_API_VERSION" || call == "KVM_CHECK_EXTENSION")
		return fmt::format("{}", result);
	return "ok";
}

// "KVM_EXIT_IO out port 0x10 (work counter), 2 bytes"
std::string describeExit(const ExitSeen &exit)
{
	const ExitEvent &event = exit.event;
	switch (event.reason) {
	case KVM_EXIT_IO:
		return fmt::format("KVM_EXIT_IO {} port {:#x} ({}), {} byte{}", event.out ? "out" : "in", event.port,
				   exit.device.empty() ? "no device" : exit.device, event.size, event.size == 1 ? "" : "s");
	case KVM_EXIT_HLT:
		return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO:
		return fmt::format("KVM_EXIT_MMIO at {:#x}", exit.mmioAddress);
	case KVM_EXIT_SHUTDOWN:
		return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_INTR:
		return "EINTR (KVM_EXIT_INTR)";
	}
	return fmt::format("exit reason {}", event.reason);
}

std::string_view sliceEndReason(sched::SliceEnd why)
{
	switch (why) {
	case sched::SliceEnd::Timer:
		return "its quantum is used up";
	case sched::SliceEnd::IoExit:
		return "policy io switches at every I/O exit";
	case sched::SliceEnd::Yield:
		return "the guest yielded";
	case sched::SliceEnd::Park:
		return "the VM waits, parked, using no CPU";
	case sched::SliceEnd::Halt:
		return "the VM is finished";
	case sched::SliceEnd::Fault:
		return "the VM is stopped";
	case sched::SliceEnd::Stop:
		return "quanta is stopping";
	}
	return "";
}

} // namespace

Explain::Explain(std::FILE *out, std::size_t slices)
	: out_(out), slicesLeft_(slices)
{
}

std::string_view Explain::reason(std::string_view call)
{
	// Kvm reports the device it opened as "open(PATH)".
	if (call.starts_with("open("))
		call = "open()";
	for (const Reason &r : kReasons)
		if (r.call == call)
			return r.why;
	return "";
}

IoctlObserver Explain::observer()
{
	return [this](std::string_view call, long result) {
		std::string_view why = reason(call);
		step(fmt::format("{} -> {}{}{}", call, resultText(call, result), why.empty() ? "" : ": ", why));
	};
}

void Explain::step(std::string_view text)
{
	fmt::print(out_, "explain: [{:2}] {}\n", ++steps_, text);
	std::fflush(out_);
}

void Explain::note(std::string_view text)
{
	fmt::print(out_, "explain:      {}\n", text);
	std::fflush(out_);
}

void Explain::begin()
{
	fmt::print(out_, "explain: every KVM call quanta makes, in order, then the first {} slices "
			 "(docs/architecture.md draws the same flow)\n",
		   slicesLeft_);
	fmt::print(out_, "explain: -- the host: /dev/kvm --\n");
}

void Explain::vmsCreated(std::size_t vms)
{
	fmt::print(out_, "explain: -- the VMs: all {} created before any vCPU --\n", vms);
	note("(no ioctl) each VM hooks the process's memory map (an MMU notifier, whose registration visits every "
	     "mapping), and each vCPU adds a mapping: VMs first keeps that cheap for thousands of VMs");
}

void Explain::vmSetup(std::size_t index, std::string_view name, std::string_view imagePath, ImageFormat format,
		      CpuMode mode, std::uint64_t memoryBytes)
{
	fmt::print(out_, "explain: -- VM {} \"{}\": {} ({} image, {} mode) --\n", index + 1, name, imagePath,
		   imageFormatName(format), cpuModeName(mode));
	note(fmt::format("(no ioctl) guest memory: {} MiB of anonymous mmap; the image, GDT{} and stack are "
			 "written into it before KVM sees it",
			 memoryBytes >> 20, mode == CpuMode::Paged || mode == CpuMode::Long ? ", page tables" : ""));
}

void Explain::loopSetup(std::string_view policy, Nanos quantum, std::optional<Nanos> length, std::size_t vms)
{
	fmt::print(out_, "explain: -- the run loop: one thread, one libev loop, {} vCPU{} --\n", vms,
		   vms == 1 ? "" : "s");
	note("(no ioctl) SIGINT and SIGTERM blocked in this thread; libev reads them from a signalfd");
	note(fmt::format("(no ioctl) timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID -> SIGRTMIN): the kick "
			 "timer that ends each slice; policy {}, quantum {}",
			 policy, duration(quantum)));
	if (length)
		note(fmt::format("(no ioctl) duration timer: every VM stops after {}", duration(*length)));
}

void Explain::runStarting(Nanos batchLimit)
{
	fmt::print(out_, "explain: -- running: an ev_idle watcher runs slices back to back, up to {} per loop iteration --\n",
		   duration(batchLimit));
	std::fflush(out_);
}

void Explain::sliceStarted(const SliceStart &slice)
{
	if (!active())
		return;
	const sched::Policy policy = slice.policy;
	const std::optional<Nanos> timer = slice.timer;
	exitsTold_ = 0;
	exitsHidden_ = 0;
	std::string how = policy == sched::Policy::Stride       ? "earliest virtual deadline among the VMs not ahead"
			  : policy == sched::Policy::Fractional ? "the next of each VM's run of consecutive quanta"
			  : policy == sched::Policy::RoundRobin ? "the next VM in turn"
								: "the next VM in turn, until its next I/O exit";
	std::string timerText = timer                         ? fmt::format("kick timer armed for {}", duration(*timer))
				: policy == sched::Policy::Io ? std::string("no timer: policy io switches at I/O exits")
							      : std::string("no timer: a lone VM has nobody to yield to");
	step(fmt::format("slice {}: the scheduler ({}: {}) picks {}; {}", slicesTold_ + 1,
			 sched::policyName(policy), how, slice.vmName, timerText));
}

void Explain::exitHandled(const ExitSeen &exit)
{
	if (!active())
		return;
	const ExitOutcome &outcome = exit.outcome;
	// The routine exits are told a few times; the one that ends the slice
	// always is.
	if (outcome.action == ExitAction::Continue && exitsTold_ >= kExitsPerSlice) {
		++exitsHidden_;
		return;
	}
	++exitsTold_;
	if (exitsHidden_ > 0) {
		note(fmt::format("... {} more exits, handled the same way", exitsHidden_));
		exitsHidden_ = 0;
	}
	std::string what = exit.retried ? fmt::format("retry of the parked {}", describeExit(exit))
					: fmt::format("KVM_RUN ran {} -> {}", duration(exit.event.exit - exit.event.enter),
						      describeExit(exit));
	std::string then;
	switch (outcome.action) {
	case ExitAction::Continue:
		then = "handled by quanta's device, then straight back into the guest";
		break;
	case ExitAction::Interrupted:
		then = "a signal (the kick timer) interrupted the guest";
		break;
	case ExitAction::Park:
		then = outcome.parkReason == ParkReason::Channel
			       ? "the channel is not ready: the VM parks until its peer acts"
		       : outcome.parkReason == ParkReason::Output
			       ? "stdout is full: the VM parks until the reader takes more"
		       : outcome.parkReason == ParkReason::Poll
			       ? "the unikernel waits in poll: it parks until its deadline or a frame for it"
			       : "no input yet: the VM parks until there is some";
		break;
	case ExitAction::Halt:
		then = "the guest halted";
		break;
	case ExitAction::Exit:
		then = "the guest called the exit hypercall";
		break;
	case ExitAction::Yield:
		then = "the guest yields the rest of its slice";
		break;
	case ExitAction::Fault:
		then = "fatal: " + outcome.diagnosis;
		break;
	}
	note(fmt::format("{}: {}", what, then));
}

void Explain::sliceEnded(const SliceEvent &slice, std::string_view vmName)
{
	if (!active())
		return;
	const sched::SliceEnd why = slice.why;
	const Nanos length = slice.end - slice.start;
	const Nanos ran = slice.ran;
	const std::uint32_t runs = slice.runs;
	if (exitsHidden_ > 0)
		note(fmt::format("... {} more exits, handled the same way", exitsHidden_));
	note(fmt::format("slice ends ({}: {}) after {}; {} inside KVM_RUN ({} call{}) charged to {}",
			 sched::sliceEndName(why), sliceEndReason(why), duration(length), duration(ran), runs,
			 runs == 1 ? "" : "s", vmName));
	++slicesTold_;
	if (--slicesLeft_ == 0)
		fmt::print(out_, "explain: that was {} slices; the run goes on without explaining\n", slicesTold_);
	std::fflush(out_);
}

void Explain::idle()
{
	if (!active())
		return;
	step("nothing runnable: the loop sleeps in epoll until input, a signal or the duration timer");
}

} // namespace quanta::trace
