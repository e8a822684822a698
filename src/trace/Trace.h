// The schedule as it happened: every slice (VM, start, end, why it ended,
// time inside KVM_RUN) and, at level `exits`, every KVM_RUN and its exit.
//
// Recording must not disturb what it measures, so the run loop only appends
// fixed-size records to vectors reserved up front (no I/O, no formatting,
// no allocation in the common case); files are written after the run
// (ChromeTrace.h) and plots drawn from the same data (Plot.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvm/ExitOutcome.h"
#include "sched/Policy.h"

namespace quanta::trace {

enum class Level {
	Slices, // one event per slice
	Exits,  // and one per KVM_RUN, named by its exit
};

std::optional<Level> parseLevel(std::string_view name);
std::string_view levelName(Level level);

struct SliceEvent {
	Nanos start;        // monotonic ns: the slice began (after the pick)
	Nanos end;          // handed back to the scheduler
	Nanos ran;          // time inside KVM_RUN, exactly what was charged
	std::uint32_t vm;   // index in TraceData::vms
	std::uint32_t runs; // KVM_RUN calls in the slice
	sched::SliceEnd why;
};

struct ExitEvent {
	Nanos enter; // KVM_RUN called
	Nanos exit;  // back in userspace
	std::uint32_t vm;
	std::uint32_t reason; // KVM_EXIT_* (KVM_EXIT_INTR: a signal kicked it out)
	std::uint16_t port;   // KVM_EXIT_IO only
	bool out;             // KVM_EXIT_IO only
	std::uint8_t size;    // KVM_EXIT_IO only
};

struct TraceVm {
	std::string name;
	std::uint64_t weight = 1;
	double targetShare = 0.0; // what the policy aims for, 0..1
};

// A recorded run, or one read back from a trace file.
struct TraceData {
	std::string policy;
	Nanos quantum = 0;
	Nanos origin = 0; // monotonic ns of the run's start: time 0 in files
	Nanos wall = 0;   // length of the run
	Level level = Level::Slices;
	std::vector<TraceVm> vms;
	std::vector<SliceEvent> slices;
	std::vector<ExitEvent> exits;
	std::uint64_t droppedExits = 0; // exit events past kMaxExitEvents
	// Run metadata written into the file (app/ReportMeta.h): a JSON
	// object as text, passed through untouched; empty for none.
	int schemaVersion = 0;
	std::string metaJson;
};

// "io out 0x10", "hlt", "intr": the short name of an exit.
std::string exitName(const ExitEvent &event);
// KVM_EXIT_* code -> "io", "hlt", "mmio", "intr", ... ("exit N" otherwise).
std::string exitReasonName(std::uint32_t reason);

// Per-VM sums over the slices: what the report's totals must equal.
struct VmTotals {
	std::uint64_t slices = 0;
	Nanos ran = 0;
};
std::vector<VmTotals> totalsByVm(const TraceData &data);

// What the run loop tells its observer, as plain values.
struct SliceStart {
	Nanos start;
	std::uint32_t vm;
	std::string_view vmName;
	sched::Policy policy;
	std::optional<Nanos> timer; // the slice timer's length; nullopt: no timer
};

struct ExitSeen {
	ExitEvent event; // for a retry no KVM_RUN: enter == exit
	bool retried;    // a parked exit completed once woken
	std::string_view vmName;
	std::string_view device;   // KVM_EXIT_IO: the port's device ("" if none)
	std::uint64_t mmioAddress; // KVM_EXIT_MMIO only
	const ExitOutcome &outcome;
};

// Everything that watches the run loop (the tracer, --explain) sits behind
// this one interface. The base class is the null observer: it ignores
// everything, so the loop calls it unconditionally.
class LoopObserver {
public:
	virtual ~LoopObserver() = default;
	virtual void sliceStarted(const SliceStart &) {}
	virtual void exitHandled(const ExitSeen &) {}
	virtual void sliceEnded(const SliceEvent &, std::string_view /*vmName*/) {}
	virtual void idle() {} // nothing is runnable: the loop sleeps
};

// Several observers as one, called in the order they were added.
class Observers final : public LoopObserver {
public:
	void add(LoopObserver &observer) { observers_.push_back(&observer); }
	bool empty() const { return observers_.empty(); }

	void sliceStarted(const SliceStart &slice) override
	{
		for (LoopObserver *o : observers_)
			o->sliceStarted(slice);
	}
	void exitHandled(const ExitSeen &exit) override
	{
		for (LoopObserver *o : observers_)
			o->exitHandled(exit);
	}
	void sliceEnded(const SliceEvent &slice, std::string_view vmName) override
	{
		for (LoopObserver *o : observers_)
			o->sliceEnded(slice, vmName);
	}
	void idle() override
	{
		for (LoopObserver *o : observers_)
			o->idle();
	}

private:
	std::vector<LoopObserver *> observers_;
};

// The recorder: slices, and at level Exits every KVM_RUN (not the retries,
// which do not enter the guest).
class Tracer final : public LoopObserver {
public:
	// Exit events beyond this are counted, not kept: at 40k exits a second
	// this is 25 s of exits, 32 MB of memory (allocated when the tracer is
	// made) and a trace file of about 130 MB that Perfetto still opens.
	static constexpr std::size_t kMaxExitEvents = 1'000'000;

	// expectedSlices sizes the slice vector so the loop never reallocates
	// in a run of that length.
	Tracer(Level level, std::size_t expectedSlices);

	bool wantsExits() const { return data_.level == Level::Exits; }

	void slice(const SliceEvent &event) { data_.slices.push_back(event); }
	void exit(const ExitEvent &event)
	{
		if (data_.exits.size() < kMaxExitEvents)
			data_.exits.push_back(event);
		else
			++data_.droppedExits;
	}

	void exitHandled(const ExitSeen &seen) override
	{
		if (wantsExits() && !seen.retried)
			exit(seen.event);
	}
	void sliceEnded(const SliceEvent &event, std::string_view) override { slice(event); }

	TraceData &data() { return data_; }
	const TraceData &data() const { return data_; }

private:
	TraceData data_;
};

// How many slices a run of this length is expected to have (for Tracer).
std::size_t expectedSlices(std::optional<Nanos> duration, Nanos quantum, std::size_t vms);

} // namespace quanta::trace
