#include "loop/RunLoop.h"

#include <fmt/format.h>

#include "trace/Explain.h"
#include "trace/Trace.h"

namespace quanta {

const char *vmStatusName(VmStatus status)
{
	switch (status) {
	case VmStatus::Runnable:
		return "runnable";
	case VmStatus::Parked:
		return "parked";
	case VmStatus::Halted:
		return "halted";
	case VmStatus::Faulted:
		return "faulted";
	case VmStatus::Failed:
		return "failed";
	case VmStatus::Stopped:
		return "stopped";
	}
	return "?";
}

RunLoop::RunLoop(struct ev_loop *loop, std::vector<std::unique_ptr<Machine>> &machines,
		 Console &console, LoopConfig config)
	: loop_(loop), machines_(machines), console_(console), config_(std::move(config)),
	  sched_(config_.policy, config_.quantum, config_.weights, monotonicNow()),
	  retryPending_(machines.size(), false)
{
	sigset_t mask = guestRunSignalMask();
	for (auto &machine : machines_)
		machine->vcpu().setSignalMask(mask);

	ev_idle_init(&idle_, onIdle);
	idle_.data = this;
	ev_signal_init(&sigint_, onSignal, SIGINT);
	sigint_.data = this;
	ev_signal_init(&sigterm_, onSignal, SIGTERM);
	sigterm_.data = this;
	ev_init(&durationTimer_, onDuration);
	durationTimer_.data = this;
	record_.vms.resize(machines_.size());
}

RunLoop::~RunLoop()
{
	ev_idle_stop(loop_, &idle_);
	ev_signal_stop(loop_, &sigint_);
	ev_signal_stop(loop_, &sigterm_);
	ev_timer_stop(loop_, &durationTimer_);
}

RunRecord RunLoop::run()
{
	// libev's cached time is from before VM setup: refresh it so the
	// duration timer is measured from the same start as the run.
	ev_now_update(loop_);
	record_.startNs = monotonicNow();
	if (config_.duration) {
		durationDeadline_ = record_.startNs + *config_.duration;
		ev_timer_set(&durationTimer_, static_cast<double>(*config_.duration) / 1e9, 0.);
		ev_timer_start(loop_, &durationTimer_);
	}
	ev_signal_start(loop_, &sigint_);
	ev_signal_start(loop_, &sigterm_);
	ev_idle_start(loop_, &idle_);
	ev_run(loop_, 0);

	Nanos end = monotonicNow();
	if (idleSince_)
		record_.idleNs += end - *idleSince_;
	stopAll(end);
	record_.wallNs = end - record_.startNs;
	for (std::size_t i = 0; i < machines_.size(); ++i)
		record_.vms[i].sched = sched_.stats(i, end);
	console_.flushAll();
	return record_;
}

void RunLoop::onIdle(struct ev_loop *, ev_idle *watcher, int)
{
	static_cast<RunLoop *>(watcher->data)->step();
}

void RunLoop::onSignal(struct ev_loop *loop, ev_signal *watcher, int)
{
	auto *self = static_cast<RunLoop *>(watcher->data);
	self->record_.stopSignal = watcher->signum;
	self->stopping_ = true;
	ev_break(loop, EVBREAK_ALL);
}

void RunLoop::onDuration(struct ev_loop *loop, ev_timer *watcher, int)
{
	auto *self = static_cast<RunLoop *>(watcher->data);
	self->record_.durationReached = true;
	self->stopping_ = true;
	ev_break(loop, EVBREAK_ALL);
}

void RunLoop::step()
{
	if (stopping_) {
		ev_break(loop_, EVBREAK_ALL);
		return;
	}
	Nanos now = monotonicNow();
	std::optional<sched::Pick> pick = sched_.pickNext(now);
	if (!pick) {
		// Nothing can run: sleep in the kernel until input or a signal.
		ev_idle_stop(loop_, &idle_);
		lastSliceExit_.reset(); // the next switch starts from idle, not from a VM
		if (sched_.liveCount() == 0) {
			ev_break(loop_, EVBREAK_ALL);
		} else if (deadlocked()) {
			console_.beforeOutput();
			fmt::print(stderr, "quanta: deadlock: every running VM waits on a channel that no one can serve\n");
			for (std::size_t vm = 0; vm < machines_.size(); ++vm)
				if (record_.vms[vm].status == VmStatus::Parked)
					report(vm, "waiting: " + config_.channels->describeWait(vm));
			record_.deadlock = true;
			stopping_ = true;
			ev_break(loop_, EVBREAK_ALL);
		} else {
			idleSince_ = now;
			if (config_.explain)
				config_.explain->idle();
		}
		return;
	}
	runSlice(*pick);
	if (sched_.liveCount() == 0)
		ev_break(loop_, EVBREAK_ALL);
}

void RunLoop::runSlice(const sched::Pick &pick)
{
	const std::size_t vm = pick.vm;
	Machine &machine = *machines_[vm];
	RunRecord::Vm &state = record_.vms[vm];

	std::optional<Nanos> deadline;
	Nanos start = monotonicNow();
	// A lone VM has nobody to yield to: no slice timer, no needless kicks.
	if (pick.budget && sched_.liveCount() > 1)
		deadline = start + *pick.budget;
	else if (pick.budget && config_.loneSliceLimit)
		deadline = start + *config_.loneSliceLimit;
	if (durationDeadline_)
		deadline = deadline ? std::min(*deadline, *durationDeadline_) : *durationDeadline_;
	if (deadline)
		kick_.armAt(*deadline);
	if (config_.explain)
		config_.explain->sliceStarted(machine, config_.policy,
					      deadline ? std::optional<Nanos>(*deadline - start) : std::nullopt);

	const bool traceExits = config_.tracer && config_.tracer->wantsExits();
	sched::SliceEnd why = sched::SliceEnd::Stop;
	bool entered = false;
	Nanos exitTime = start;
	Nanos ran = 0;          // this slice's charges, for the trace
	std::uint32_t runs = 0; // KVM_RUN calls in this slice
	for (;;) {
		ExitOutcome outcome;
		Nanos t0 = exitTime;
		const bool retried = retryPending_[vm];
		if (retried) {
			// The exit that parked this vCPU is completed before re-entry.
			retryPending_[vm] = false;
			outcome = machine.retryExit();
			outcome.ioExit = false;
		} else {
			t0 = monotonicNow();
			if (!entered && lastSliceExit_)
				record_.switchLatencyNs.push_back(t0 - *lastSliceExit_);
			entered = true;
			int result = machine.enter();
			exitTime = monotonicNow();
			// Charged: the time inside KVM_RUN only; handling the exit
			// below is the hypervisor's overhead, not the guest's.
			sched_.charge(vm, exitTime - t0);
			outcome = machine.handle(result);
			ran += exitTime - t0;
			++runs;
			if (traceExits) {
				const kvm_run &exit = machine.runState();
				bool io = exit.exit_reason == KVM_EXIT_IO;
				config_.tracer->exit({ t0, exitTime, static_cast<std::uint32_t>(vm), exit.exit_reason,
						       io ? exit.io.port : std::uint16_t{ 0 },
						       io && exit.io.direction == KVM_EXIT_IO_OUT,
						       io ? exit.io.size : std::uint8_t{ 0 } });
			}
		}
		if (config_.explain)
			config_.explain->exitHandled(machine, outcome, retried ? 0 : exitTime - t0, retried);

		if (outcome.action == ExitAction::Continue) {
			if (outcome.ioExit && sched_.endsSlice(sched::SliceEnd::IoExit)) {
				why = sched::SliceEnd::IoExit;
				break;
			}
			continue;
		}
		switch (outcome.action) {
		case ExitAction::Interrupted:
			if (kick_.consumePending()) {
				if (deadline)
					record_.kickLatencyNs.push_back(exitTime - *deadline);
				why = sched::SliceEnd::Timer;
			} else {
				why = sched::SliceEnd::Stop; // another signal: let the loop see it
			}
			break;
		case ExitAction::Park:
			retryPending_[vm] = true;
			state.status = VmStatus::Parked;
			why = sched::SliceEnd::Park;
			break;
		case ExitAction::Halt:
			state.status = VmStatus::Halted;
			why = sched::SliceEnd::Halt;
			report(vm, fmt::format("halted after {} exits", machine.stats().guestExits));
			break;
		case ExitAction::Exit:
			state.status = machine.exitStatus().value_or(0) == 0 ? VmStatus::Halted : VmStatus::Failed;
			state.diagnosis = fmt::format("exit status {}", machine.exitStatus().value_or(0));
			why = sched::SliceEnd::Halt;
			report(vm, fmt::format("exited with status {} after {} exits", machine.exitStatus().value_or(0),
					       machine.stats().guestExits));
			break;
		case ExitAction::Yield:
			why = sched::SliceEnd::Yield;
			break;
		case ExitAction::Fault:
			state.status = VmStatus::Faulted;
			state.diagnosis = outcome.diagnosis;
			why = sched::SliceEnd::Fault;
			report(vm, "stopped: " + outcome.diagnosis);
			break;
		case ExitAction::Continue:
			break;
		}
		break;
	}

	if (why == sched::SliceEnd::Halt || why == sched::SliceEnd::Fault)
		vmStopped(vm);
	if (deadline) {
		kick_.disarm();
		kick_.consumePending(); // a kick that raced with another exit
	}
	lastSliceExit_ = exitTime;
	console_.flush(vm);
	Nanos now = monotonicNow();
	sched_.endSlice(vm, why, now);
	if (config_.tracer)
		config_.tracer->slice({ start, now, ran, static_cast<std::uint32_t>(vm), runs, why });
	if (config_.explain)
		config_.explain->sliceEnded(machine, why, now - start, ran, runs);
	wakeChannelWaiters(now);
	if (durationDeadline_ && now >= *durationDeadline_) {
		record_.durationReached = true;
		stopping_ = true;
	}
}

void RunLoop::vmStopped(std::size_t vm)
{
	machines_[vm]->release();
	if (config_.channels)
		config_.channels->vmStopped(vm);
}

void RunLoop::wakeChannelWaiters(Nanos now)
{
	if (!config_.channels)
		return;
	for (std::size_t vm : config_.channels->takeWakeups()) {
		if (record_.vms[vm].status != VmStatus::Parked)
			continue;
		record_.vms[vm].status = VmStatus::Runnable;
		sched_.wake(vm, now);
	}
}

// No VM can run and none can be woken from outside: every parked VM waits
// on a channel (a VM waiting for standard input could still be woken).
bool RunLoop::deadlocked() const
{
	if (!config_.channels)
		return false;
	for (std::size_t vm = 0; vm < machines_.size(); ++vm)
		if (record_.vms[vm].status == VmStatus::Parked && !config_.channels->waitOf(vm))
			return false;
	return true;
}

void RunLoop::onInput()
{
	Nanos now = monotonicNow();
	for (std::size_t vm = 0; vm < machines_.size(); ++vm) {
		if (record_.vms[vm].status != VmStatus::Parked)
			continue;
		if (config_.channels && config_.channels->waitOf(vm))
			continue; // waits on a peer, not on input
		record_.vms[vm].status = VmStatus::Runnable;
		sched_.wake(vm, now);
	}
	resumeIdleWatcher(now);
}

void RunLoop::resumeIdleWatcher(Nanos now)
{
	if (idleSince_) {
		record_.idleNs += now - *idleSince_;
		idleSince_.reset();
	}
	ev_idle_start(loop_, &idle_);
}

void RunLoop::stopAll(Nanos now)
{
	for (std::size_t vm = 0; vm < machines_.size(); ++vm) {
		RunRecord::Vm &state = record_.vms[vm];
		if (state.status == VmStatus::Runnable || state.status == VmStatus::Parked) {
			state.status = VmStatus::Stopped;
			sched_.remove(vm, now);
		}
	}
}

void RunLoop::report(std::size_t vm, const std::string &text)
{
	console_.beforeOutput(); // the live status line steps aside
	fmt::print(stderr, "quanta: {}: {}\n", machines_[vm]->name(), text);
}

} // namespace quanta
