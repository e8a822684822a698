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
#include "channels/Channel.h"
#include "host/Console.h"
#include "loop/KickTimer.h"
#include "sched/Scheduler.h"
#include "vmm/Machine.h"

namespace quanta {

namespace trace {
class Tracer;
class Explain;
} // namespace trace

enum class VmStatus {
	Runnable,
	Parked,
	Halted,  // HLT, or the exit hypercall with status 0
	Failed,  // the exit hypercall with a non-zero status
	Faulted, // stopped by quanta with a diagnosis
	Stopped, // still running when the run ended
};

const char *vmStatusName(VmStatus status);

struct LoopConfig {
	sched::Policy policy = sched::kDefaultPolicy;
	Nanos quantum = 10'000'000;
	std::vector<std::uint64_t> weights; // one per VM
	std::optional<Nanos> duration;
	ChannelHub *channels = nullptr;
	// Seeing the schedule (src/trace): each is optional and costs one
	// branch per slice (per exit for exit-level traces) when absent.
	trace::Tracer *tracer = nullptr;   // records slices (and exits)
	trace::Explain *explain = nullptr; // narrates the first slices
	// A lone VM runs without a slice timer; with the live status line on,
	// its slices still end this often so the line is redrawn.
	std::optional<Nanos> loneSliceLimit;
};

// What one run measured; the report is computed from it.
struct RunRecord {
	Nanos startNs = 0;
	Nanos wallNs = 0;
	Nanos idleNs = 0;   // nothing runnable: the loop slept
	int stopSignal = 0; // SIGINT/SIGTERM that ended the run, or 0
	bool durationReached = false;
	bool deadlock = false;              // every live VM waited on a channel
	std::vector<Nanos> kickLatencyNs;   // timer expiry -> back in userspace
	std::vector<Nanos> switchLatencyNs; // guest exit ending a slice -> next guest entry
	struct Vm {
		VmStatus status = VmStatus::Runnable;
		std::string diagnosis;
		sched::VmStats sched;
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

	void step();
	void runSlice(const sched::Pick &pick);
	void stopAll(Nanos now);
	void vmStopped(std::size_t vm);
	void wakeChannelWaiters(Nanos now);
	bool deadlocked() const;
	void resumeIdleWatcher(Nanos now);
	void report(std::size_t vm, const std::string &text);

	struct ev_loop *loop_;
	std::vector<std::unique_ptr<Machine>> &machines_;
	Console &console_;
	LoopConfig config_;
	sched::Scheduler sched_;
	KickTimer kick_;

	ev_idle idle_;
	ev_signal sigint_;
	ev_signal sigterm_;
	ev_timer durationTimer_;

	RunRecord record_;
	std::vector<bool> retryPending_;
	std::optional<Nanos> durationDeadline_;
	std::optional<Nanos> idleSince_;
	std::optional<Nanos> lastSliceExit_;
	bool stopping_ = false;
};

} // namespace quanta
