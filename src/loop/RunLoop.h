// The heart of quanta: one thread, one libev loop, every vCPU of every VM.
//
// An ev_idle watcher runs one guest slice per loop iteration while some VM
// is runnable; in between, libev polls (without sleeping) for standard
// input and signals. When nothing can run the idle watcher stops and
// ev_run sleeps in the kernel until input, a signal or the duration timer
// wakes it: a parked VM costs no CPU. Exits are handled inline on this
// thread; the pure scheduler decides who runs next and for how long, and
// KickTimer ends slices (see KickTimer.h for why no kick is lost).
#pragma once

#include <csignal>
#include <ev.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/Clock.h"
#include "base/VmId.h"
#include "channels/Channel.h"
#include "host/Console.h"
#include "host/RunDelay.h"
#include "loop/KickTimer.h"
#include "loop/Slice.h"
#include "sched/Scheduler.h"
#include "trace/Trace.h"
#include "vmm/Machine.h"

namespace quanta {

struct LoopConfig {
	sched::Policy policy = sched::kDefaultPolicy;
	Nanos quantum = 10'000'000;
	std::vector<std::uint64_t> weights; // one per VM
	std::optional<Nanos> duration;
	ChannelHub *channels = nullptr;
	// Seeing the schedule (src/trace): the tracer and --explain, told every
	// slice and exit. nullptr: nobody watches (a null observer is told).
	trace::LoopObserver *observer = nullptr;
	// A lone VM runs without a slice timer; with the live status line on,
	// its slices still end this often so the line is redrawn.
	std::optional<Nanos> loneSliceLimit;
	// Slices run back to back for up to this long before the loop polls
	// libev again (continueBatch in Slice.h): one epoll_wait for several
	// short slices; input and timers wait at most this long. 0: one slice
	// per libev iteration.
	Nanos batchLimit = 4'000'000;
};

// What one run measured; the report is computed from it.
struct RunRecord {
	Nanos startNs = 0;
	Nanos wallNs = 0;
	Nanos idleNs = 0;   // nothing runnable: the loop slept
	int stopSignal = 0; // SIGINT/SIGTERM that ended the run, or 0
	bool durationReached = false;
	bool deadlock = false;                // every live VM waited on a channel
	bool stdoutClosed = false;            // stdout's reader went away (or writing failed)
	int stdoutError = 0;                  // errno of the failed write (EPIPE: reader gone)
	std::uint64_t stdoutDroppedBytes = 0; // guest output never written
	std::vector<Nanos> kickLatencyNs;     // timer expiry -> back in userspace
	std::vector<Nanos> switchLatencyNs;   // guest exit ending a slice -> next guest entry
	// Host steal: run_delay (host/RunDelay.h) could be read.
	bool hostStealMeasured = false;
	struct Vm {
		VmStatus status = VmStatus::Running;
		std::string diagnosis;
		sched::VmStats sched;
		// The thread waited for a host CPU during this VM's slices: not
		// charged to it (at most what its KVM_RUNs measured).
		Nanos hostStealNs = 0;
		// It faulted because this host's KVM cannot run its CPU mode (exit 3).
		bool hostCannotRun = false;
	};
	std::vector<Vm> vms;
};

class RunLoop {
public:
	RunLoop(struct ev_loop *loop, std::vector<std::unique_ptr<Machine>> &machines,
		Console &console, LoopConfig config);
	~RunLoop();
	RunLoop(const RunLoop &) = delete;
	RunLoop &operator=(const RunLoop &) = delete;

	// Runs until every VM has stopped, the duration ends or a signal.
	RunRecord run();

	// New standard input (or its end): wakes VMs parked on it.
	void onInput();

	const sched::Scheduler &scheduler() const { return sched_; }

private:
	static void onIdle(struct ev_loop *loop, ev_idle *watcher, int events);
	static void onSignal(struct ev_loop *loop, ev_signal *watcher, int events);
	static void onDuration(struct ev_loop *loop, ev_timer *watcher, int events);
	static void onStdoutWritable(struct ev_loop *loop, ev_io *watcher, int events);
	// quanta's own lines queued for a stderr nobody reads (Console::diagnostic).
	static void onStderrWritable(struct ev_loop *loop, ev_io *watcher, int events);

	// What one slice has done so far.
	struct SliceTally {
		Nanos start;
		Nanos exitTime;         // the last KVM_RUN returned
		Nanos ran = 0;          // time inside KVM_RUN; at the end, less host steal (charged)
		std::uint32_t runs = 0; // KVM_RUN calls
	};

	// Per VM, beside the scheduler's state (which says whether it is parked).
	struct VmSlot {
		bool retryPending = false; // the exit that parked it is completed before re-entry
		ParkReason parkedOn{};     // meaningful while the scheduler has it parked
	};

	void step();
	sched::SliceEnd runSlice(const sched::Pick &pick);
	ExitOutcome enterOnce(VmIndex vm, SliceTally &tally);
	void observeExit(VmIndex vm, const ExitOutcome &outcome, Nanos enter, Nanos exit, bool retried);
	void chargeSlice(VmIndex vm, SliceTally &tally);
	void endSlice(VmIndex vm, sched::SliceEnd why, const SliceTally &tally);
	void stopAll(Nanos now);
	void vmEnded(VmIndex vm, const SliceVerdict &verdict);
	bool isParkedOn(std::size_t vm, ParkReason reason) const;
	void wake(std::size_t vm, ParkReason reason, Nanos now);
	void wakeChannelWaiters(Nanos now);
	bool deadlocked() const;
	void resumeIdleWatcher(Nanos now);
	void stdoutWritable();
	void watchStdout();
	void stdoutClosed();
	void drainStdout();
	void report(VmIndex vm, const std::string &text);
	Machine &machine(VmIndex vm) { return *machines_[vm.value]; }

	// An hvt guest parked in poll: a timer for its deadline and a watcher
	// per descriptor that may make it ready; the first to fire wakes it.
	struct PollWatch {
		RunLoop *self = nullptr;
		std::size_t vm = 0;
		ev_timer timer;
		std::vector<ev_io> fds;
		std::optional<Nanos> deadline; // while armed with a timer
		bool armed = false;
	};
	// The earliest poll deadline of a parked VM: a slice ends by then, so a
	// sleeping unikernel wakes on time however long the running one's
	// slice would be.
	std::optional<Nanos> earliestPollDeadline() const;
	void armPollWait(std::size_t vm, const hvt::PollWait &wait);
	void disarmPollWait(std::size_t vm);
	static void onPollTimer(struct ev_loop *loop, ev_timer *watcher, int events);
	static void onPollIo(struct ev_loop *loop, ev_io *watcher, int events);
	void pollWoke(std::size_t vm);
	std::vector<std::unique_ptr<PollWatch>> pollWatches_;

	struct ev_loop *loop_;
	std::vector<std::unique_ptr<Machine>> &machines_;
	Console &console_;
	LoopConfig config_;
	trace::LoopObserver nullObserver_;
	trace::LoopObserver &observer_;
	sched::Scheduler sched_;
	KickTimer kick_;
	RunDelay runDelay_;
	// run_delay when the last slice ended (nullopt: from idle or the start).
	std::optional<Nanos> runDelayMark_;

	ev_idle idle_;
	ev_signal sigint_;
	ev_signal sigterm_;
	ev_timer durationTimer_;
	ev_io stdoutWatcher_;
	ev_io stderrWatcher_;

	RunRecord record_;
	std::vector<VmSlot> slots_;
	std::optional<Nanos> durationDeadline_;
	std::optional<Nanos> idleSince_;
	std::optional<Nanos> lastSliceExit_;
	bool stopping_ = false;
	bool draining_ = false; // every VM has ended; queued output is still being written
};

} // namespace quanta
