#include "loop/RunLoop.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <utility>

namespace quanta {

RunLoop::RunLoop(struct ev_loop *loop, std::vector<std::unique_ptr<Machine>> &machines,
		 Console &console, LoopConfig config)
	: loop_(loop), machines_(machines), console_(console), config_(std::move(config)),
	  observer_(config_.observer ? *config_.observer : nullObserver_),
	  sched_(config_.policy, config_.quantum, config_.weights, monotonicNow()), slots_(machines.size())
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
	ev_io_init(&stdoutWatcher_, onStdoutWritable, console_.outputFd(), EV_WRITE);
	stdoutWatcher_.data = this;
	ev_io_init(&stderrWatcher_, onStderrWritable, console_.diagnosticsFd(), EV_WRITE);
	stderrWatcher_.data = this;
	record_.vms.resize(machines_.size());
	record_.hostStealMeasured = runDelay_.available();
	for (std::size_t vm = 0; vm < machines_.size(); ++vm) {
		auto watch = std::make_unique<PollWatch>();
		watch->self = this;
		watch->vm = vm;
		ev_init(&watch->timer, onPollTimer);
		watch->timer.data = watch.get();
		pollWatches_.push_back(std::move(watch));
		// Frames from a virtual switch wake a VM parked in poll directly.
		if (hvt::HvtHypercalls *hvt = machines_[vm]->hvt())
			for (auto &[index, net] : hvt->attachments().nets)
				net.port->setWakeup([this, vm] { pollWoke(vm); });
	}
}

RunLoop::~RunLoop()
{
	ev_idle_stop(loop_, &idle_);
	ev_signal_stop(loop_, &sigint_);
	ev_signal_stop(loop_, &sigterm_);
	ev_timer_stop(loop_, &durationTimer_);
	ev_io_stop(loop_, &stdoutWatcher_);
	ev_io_stop(loop_, &stderrWatcher_);
	for (std::size_t vm = 0; vm < pollWatches_.size(); ++vm)
		disarmPollWait(vm);
}

void RunLoop::armPollWait(std::size_t vm, const hvt::PollWait &wait)
{
	PollWatch &watch = *pollWatches_[vm];
	disarmPollWait(vm);
	watch.deadline.reset();
	if (wait.deadline != INT64_MAX) {
		watch.deadline = wait.deadline;
		// libev counts a relative timer from its cached time, which is
		// from before the slice that parked this VM: refreshed, the timer
		// fires at the deadline and not a slice's length early.
		ev_now_update(loop_);
		double delay = static_cast<double>(std::max<Nanos>(0, wait.deadline - monotonicNow())) / 1e9;
		ev_timer_set(&watch.timer, delay, 0.);
		ev_timer_start(loop_, &watch.timer);
	}
	watch.fds.resize(wait.fds.size());
	for (std::size_t i = 0; i < wait.fds.size(); ++i) {
		ev_io_init(&watch.fds[i], onPollIo, wait.fds[i], EV_READ);
		watch.fds[i].data = &watch;
		ev_io_start(loop_, &watch.fds[i]);
	}
	watch.armed = true;
}

std::optional<Nanos> RunLoop::earliestPollDeadline() const
{
	std::optional<Nanos> earliest;
	for (const auto &watch : pollWatches_)
		if (watch->armed && watch->deadline && (!earliest || *watch->deadline < *earliest))
			earliest = watch->deadline;
	return earliest;
}

void RunLoop::disarmPollWait(std::size_t vm)
{
	PollWatch &watch = *pollWatches_[vm];
	if (!watch.armed)
		return;
	ev_timer_stop(loop_, &watch.timer);
	for (ev_io &io : watch.fds)
		ev_io_stop(loop_, &io);
	watch.armed = false;
}

void RunLoop::onPollTimer(struct ev_loop *, ev_timer *watcher, int)
{
	auto *watch = static_cast<PollWatch *>(watcher->data);
	watch->self->pollWoke(watch->vm);
}

void RunLoop::onPollIo(struct ev_loop *, ev_io *watcher, int)
{
	auto *watch = static_cast<PollWatch *>(watcher->data);
	watch->self->pollWoke(watch->vm);
}

// The deadline passed or a frame arrived: the poll is retried when the VM
// next runs (and parks it again if it was not for it).
void RunLoop::pollWoke(std::size_t vm)
{
	if (!isParkedOn(vm, ParkReason::Poll))
		return;
	disarmPollWait(vm);
	Nanos now = monotonicNow();
	wake(vm, ParkReason::Poll, now);
	resumeIdleWatcher(now);
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
	drainStdout();
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
		runDelayMark_.reset();  // waking up is no VM's steal
		if (sched_.liveCount() == 0) {
			ev_break(loop_, EVBREAK_ALL);
		} else if (deadlocked()) {
			console_.diagnostic("quanta: deadlock: every running VM waits on a channel that no one can serve\n");
			for (std::size_t vm = 0; vm < machines_.size(); ++vm)
				if (sched_.state(vm) == sched::VmState::Parked)
					report(VmIndex{ vm }, "waiting: " + config_.channels->describeWait(vm));
			record_.deadlock = true;
			stopping_ = true;
			ev_break(loop_, EVBREAK_ALL);
		} else {
			idleSince_ = now;
			observer_.idle();
		}
		return;
	}
	const Nanos batchStart = now;
	for (;;) {
		const sched::SliceEnd end = runSlice(*pick);
		if (sched_.liveCount() == 0) {
			ev_break(loop_, EVBREAK_ALL);
			return;
		}
		if (stopping_)
			return; // the next iteration breaks the loop
		now = monotonicNow();
		if (!continueBatch(batchStart, now, config_.batchLimit, end, earliestPollDeadline()))
			return;
		pick = sched_.pickNext(now);
		if (!pick)
			return; // the next iteration stops the idle watcher
	}
}

// The protocol of sched/Scheduler.h: deadline, enter (and charge) until an
// exit ends the slice, end.
sched::SliceEnd RunLoop::runSlice(const sched::Pick &pick)
{
	const VmIndex vm{ pick.vm };
	const Nanos start = monotonicNow();
	if (!runDelayMark_)
		runDelayMark_ = runDelay_.read();
	std::optional<Nanos> deadline =
		sliceDeadline(start, pick.budget, sched_.liveCount(), config_.loneSliceLimit, durationDeadline_,
			      earliestPollDeadline());
	// A lone VM without a slice timer still ends its slice when a partial
	// line of its output has waited long enough to be shown.
	if (!deadline)
		deadline = console_.staleDeadline();
	if (deadline)
		kick_.armAt(*deadline);
	else
		kick_.cancel(); // the last slice's timer, if it ended before its kick
	observer_.sliceStarted({ start, static_cast<std::uint32_t>(vm.value), machine(vm).name(), config_.policy,
				 deadline ? std::optional<Nanos>(*deadline - start) : std::nullopt });

	SliceTally tally{ start, start };
	SliceVerdict verdict;
	do {
		const ExitOutcome outcome = enterOnce(vm, tally);
		const bool kicked = outcome.action == ExitAction::Interrupted && kick_.consumePending();
		if (kicked && deadline)
			record_.kickLatencyNs.push_back(tally.exitTime - *deadline);
		if (outcome.action == ExitAction::Park) {
			slots_[vm.value] = { true, outcome.parkReason };
			if (outcome.parkReason == ParkReason::Poll)
				if (const hvt::HvtHypercalls *hvt = machine(vm).hvt(); hvt && hvt->pollWait())
					armPollWait(vm.value, *hvt->pollWait());
		}
		verdict = classifyExit(outcome, config_.policy, kicked, machine(vm).stats().guestExits);
		if (!verdict.end && !deadline && (deadline = console_.staleDeadline()))
			kick_.armAt(*deadline); // a partial line began in this slice
	} while (!verdict.end);

	if (verdict.status != VmStatus::Running)
		vmEnded(vm, verdict);
	// No disarm: a kick not consumed here is replaced or discarded by the
	// next slice's armAt or cancel (see KickTimer.h).
	chargeSlice(vm, tally);
	endSlice(vm, *verdict.end, tally);
	return *verdict.end;
}

// One KVM_RUN and its exit, or the completion of the exit that parked.
ExitOutcome RunLoop::enterOnce(VmIndex vm, SliceTally &tally)
{
	Machine &guest = machine(vm);
	if (std::exchange(slots_[vm.value].retryPending, false)) {
		ExitOutcome outcome = guest.retryExit();
		outcome.ioExit = false;
		observeExit(vm, outcome, tally.exitTime, tally.exitTime, true);
		return outcome;
	}
	const Nanos enter = monotonicNow();
	if (tally.runs == 0 && lastSliceExit_)
		record_.switchLatencyNs.push_back(enter - *lastSliceExit_);
	const int result = guest.enter();
	tally.exitTime = monotonicNow();
	// Charged at the slice's end (chargeSlice): the time inside KVM_RUN
	// only; handling the exit below is the hypervisor's overhead.
	tally.ran += tally.exitTime - enter;
	++tally.runs;
	ExitOutcome outcome = guest.handle(result);
	observeExit(vm, outcome, enter, tally.exitTime, false);
	return outcome;
}

void RunLoop::observeExit(VmIndex vm, const ExitOutcome &outcome, Nanos enter, Nanos exit, bool retried)
{
	const Machine &guest = machine(vm);
	const kvm_run &run = guest.runState();
	const bool io = run.exit_reason == KVM_EXIT_IO;
	const std::string *device = io ? guest.bus().deviceName(run.io.port) : nullptr;
	observer_.exitHandled({ { enter, exit, static_cast<std::uint32_t>(vm.value), run.exit_reason,
				  io ? run.io.port : std::uint16_t{ 0 }, io && run.io.direction == KVM_EXIT_IO_OUT,
				  io ? run.io.size : std::uint8_t{ 0 } },
				retried,
				guest.name(),
				device ? std::string_view(*device) : std::string_view(),
				run.exit_reason == KVM_EXIT_MMIO ? run.mmio.phys_addr : 0,
				outcome });
}

// The guest is charged its time inside KVM_RUN less the host steal of the
// slice: the run_delay the kernel added since the last slice ended (one
// read per slice, so a wait between two slices counts in the next one),
// capped at the time inside KVM_RUN.
void RunLoop::chargeSlice(VmIndex vm, SliceTally &tally)
{
	Nanos steal = 0;
	if (std::optional<Nanos> delay = runDelay_.read()) {
		if (runDelayMark_)
			steal = std::clamp(*delay - *runDelayMark_, Nanos{ 0 }, tally.ran);
		runDelayMark_ = delay;
	}
	record_.vms[vm.value].hostStealNs += steal;
	tally.ran -= steal; // what the trace shows too, so it agrees with the report
	sched_.charge(vm.value, tally.ran);
}

void RunLoop::endSlice(VmIndex vm, sched::SliceEnd why, const SliceTally &tally)
{
	lastSliceExit_ = tally.exitTime;
	// A VM that waits or has ended shows its partial line (a prompt appears
	// before the guest waits for input); one that merely lost the CPU keeps
	// it until its newline, so lines stay whole.
	if (why == sched::SliceEnd::Park || why == sched::SliceEnd::Halt || why == sched::SliceEnd::Fault)
		console_.flush(vm.value);
	console_.flushStale();
	if (console_.closed() && !record_.stdoutClosed)
		stdoutClosed();
	watchStdout();
	const Nanos now = monotonicNow();
	sched_.endSlice(vm.value, why, now);
	observer_.sliceEnded({ tally.start, now, tally.ran, static_cast<std::uint32_t>(vm.value), tally.runs, why },
			     machine(vm).name());
	wakeChannelWaiters(now);
	if (durationDeadline_ && now >= *durationDeadline_) {
		record_.durationReached = true;
		stopping_ = true;
	}
}

// The VM halted, exited or faulted: said once, and its files and channels
// are let go.
void RunLoop::vmEnded(VmIndex vm, const SliceVerdict &verdict)
{
	RunRecord::Vm &state = record_.vms[vm.value];
	state.status = verdict.status;
	state.diagnosis = verdict.diagnosis;
	state.hostCannotRun = verdict.hostCannotRun;
	report(vm, verdict.message);
	machine(vm).release();
	if (config_.channels)
		config_.channels->vmStopped(vm.value);
}

bool RunLoop::isParkedOn(std::size_t vm, ParkReason reason) const
{
	return sched_.state(vm) == sched::VmState::Parked && slots_[vm].parkedOn == reason;
}

// Every wake-up path goes through here: a VM parked for this reason becomes
// runnable (its pending exit is retried when it next runs).
void RunLoop::wake(std::size_t vm, ParkReason reason, Nanos now)
{
	if (isParkedOn(vm, reason))
		sched_.wake(vm, now);
}

void RunLoop::wakeChannelWaiters(Nanos now)
{
	if (!config_.channels)
		return;
	for (std::size_t vm : config_.channels->takeWakeups())
		wake(vm, ParkReason::Channel, now);
}

// No VM can run and none can be woken from outside: every parked VM waits
// on a channel (a VM waiting for standard input could still be woken).
bool RunLoop::deadlocked() const
{
	if (!config_.channels)
		return false;
	for (std::size_t vm = 0; vm < machines_.size(); ++vm)
		if (sched_.state(vm) == sched::VmState::Parked && slots_[vm].parkedOn != ParkReason::Channel)
			return false;
	return true;
}

void RunLoop::onInput()
{
	if (draining_)
		return;
	Nanos now = monotonicNow();
	for (std::size_t vm = 0; vm < machines_.size(); ++vm)
		wake(vm, ParkReason::Input, now);
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

void RunLoop::onStdoutWritable(struct ev_loop *, ev_io *watcher, int)
{
	static_cast<RunLoop *>(watcher->data)->stdoutWritable();
}

// Guest output waits in the console's queue for a slow reader: write more
// whenever stdout takes it, and let the VMs that parked on a full queue go
// on once it has drained.
void RunLoop::stdoutWritable()
{
	console_.onWritable();
	if (!console_.outputWaiting())
		ev_io_stop(loop_, &stdoutWatcher_);
	if (draining_) {
		if (!console_.outputWaiting())
			ev_break(loop_, EVBREAK_ALL);
		return;
	}
	if (console_.closed() && !record_.stdoutClosed) {
		stdoutClosed();
		ev_break(loop_, EVBREAK_ALL);
		return;
	}
	if (!console_.drained())
		return;
	const Nanos now = monotonicNow();
	bool woke = false;
	for (std::size_t vm = 0; vm < machines_.size(); ++vm) {
		woke = woke || isParkedOn(vm, ParkReason::Output);
		wake(vm, ParkReason::Output, now);
	}
	if (woke)
		resumeIdleWatcher(now);
}

void RunLoop::watchStdout()
{
	if (console_.outputWaiting())
		ev_io_start(loop_, &stdoutWatcher_);
	if (console_.diagnosticsWaiting())
		ev_io_start(loop_, &stderrWatcher_);
}

void RunLoop::onStderrWritable(struct ev_loop *loop, ev_io *watcher, int)
{
	RunLoop &self = *static_cast<RunLoop *>(watcher->data);
	self.console_.onDiagnosticsWritable();
	if (!self.console_.diagnosticsWaiting())
		ev_io_stop(loop, watcher);
}

// The reader of stdout went away (or writing failed): guest output can no
// longer go anywhere, so the run ends here, with the report on stderr.
void RunLoop::stdoutClosed()
{
	record_.stdoutClosed = true;
	record_.stdoutError = console_.closeError();
	stopping_ = true;
	// stderr may be broken too: a failed write there is counted, not thrown.
	if (record_.stdoutError == EPIPE)
		console_.diagnostic("quanta: stdout closed by its reader: stopping the run (exit status 141)\n");
	else
		console_.diagnostic(fmt::format("quanta: cannot write stdout: {}: stopping the run\n",
						std::strerror(record_.stdoutError)));
}

// Every VM has ended: what is still queued for a slow reader is written
// before the run returns, through the same loop, so a signal still ends
// the wait. Output that cannot be written is counted and reported.
void RunLoop::drainStdout()
{
	ev_idle_stop(loop_, &idle_);
	ev_timer_stop(loop_, &durationTimer_);
	if (!record_.stopSignal && console_.outputWaiting()) {
		draining_ = true;
		ev_io_start(loop_, &stdoutWatcher_);
		ev_run(loop_, 0);
		draining_ = false;
	}
	ev_io_stop(loop_, &stdoutWatcher_);
	if (console_.closed() && !record_.stdoutClosed) {
		record_.stdoutClosed = true;
		record_.stdoutError = console_.closeError();
	}
	record_.stdoutDroppedBytes = console_.droppedBytes() + console_.queuedBytes();
	if (console_.queuedBytes() > 0)
		console_.diagnostic(fmt::format("quanta: {} bytes of guest output not written: stdout did not take them\n",
						console_.queuedBytes()));
}

void RunLoop::stopAll(Nanos now)
{
	for (std::size_t vm = 0; vm < machines_.size(); ++vm) {
		disarmPollWait(vm);
		if (sched_.state(vm) != sched::VmState::Removed) {
			record_.vms[vm].status = VmStatus::Stopped;
			sched_.remove(vm, now);
		}
	}
}

void RunLoop::report(VmIndex vm, const std::string &text)
{
	console_.flush(vm.value); // its last partial line comes before what quanta says about it
	console_.diagnostic(fmt::format("quanta: {}: {}\n", machine(vm).name(), text));
	watchStdout();
}

} // namespace quanta
