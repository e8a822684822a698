// SPDX-License-Identifier: MIT
// The pure vCPU scheduler: decides which VM runs the next slice and for how
// long, and keeps per-VM accounting. It never reads a clock; every time is
// passed in as nanoseconds by the event loop, which makes it deterministic
// and unit-testable with a simulated clock.
//
// Protocol expected from the loop:
//
//   pick = sched.pickNext(now)            // nullopt: sleep until a wake()
//   arm the timer for pick->budget        // nullopt budget: no timer (io)
//   loop:
//     t0 = clock(); KVM_RUN; sched.charge(vm, clock() - t0)
//     why = classify the exit
//     if (!sched.endsSlice(why)) { service it inline; continue; }
//     sched.endSlice(vm, why, clock()); break
//
// park(), wake() and remove() may be called for any VM between slices, and
// for the running VM (then they end its slice as Park or Halt).
//
// Policies (VMs are numbered 0..N-1; ties always go to the lower id):
//  - io:     round robin; a slice lasts until the VM's next I/O exit.
//  - rr:     round robin; one quantum per slice.
//  - frac:   round robin over runs of quantaPerCycle(i) consecutive
//            one-quantum slices (70,30 -> A x7, B x3). A yield uses up only
//            its own quantum; parking forfeits the rest of the run.
//  - stride: proportional share of the charged nanoseconds. pass_i advances
//            by ran / weight_i, the global virtual time V by ran / (sum of
//            runnable weights). The pick is the earliest virtual deadline
//            (pass_i + quantum / weight_i) among VMs with pass_i <= V
//            (EEVDF), which keeps every lag within about one quantum.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "sched/Policy.h"

namespace quanta::sched {

// Signed 128-bit fixed point (ns * 2^64 per unit of weight) keeps virtual
// times exact enough for decades of run time and weights up to kMaxWeight.
__extension__ using Int128 = __int128;

// Largest accepted weight: keeps the fixed-point products in 128 bits.
inline constexpr std::uint64_t kMaxWeight = std::uint64_t{ 1 } << 32;

struct Pick {
	std::size_t vm;
	std::optional<Nanos> budget; // timer length; nullopt: no timer
};

enum class VmState {
	Ready,
	Running,
	Parked,
	Removed
};

// Lag of VM i, in ns (positive: the VM is owed CPU; negative: it is ahead).
//
// The reference is a fluid (GPS) CPU that shares the CPU time actually
// consumed among the runnable (ready or running) VMs in proportion to their
// target weights (1 each for io/rr, the reduced quanta for frac, the weight
// for stride). With V the fluid service per unit of weight and pass_i the
// VM's service per unit of weight (ran_i / weight_i, plus the adjustments
// below), for a runnable VM:
//
//   lag_i = weight_i * (V - pass_i)
//
// For stride this is exactly the quantity the pick is driven by.
// Idle host time counts for nobody. Parking and halting keep it well defined
// and zero-sum (sum of lags of runnable VMs = debts of parked VMs >= 0):
//  - park: a VM's credit (lag > 0) is forfeited to the runnable VMs in
//    proportion to their weights (it was not used, so they used it); its
//    debt (lag < 0) is frozen and carried across the park;
//  - wake: the VM rejoins with its frozen debt, or 0: no catch-up burst;
//  - remove: the VM's lag is frozen for the report and spread over the
//    runnable VMs (it will never be repaid or owed).
//
// Lag only rises while a VM waits and only falls while it runs, so sampling
// it at every transition of that VM (pick, end of slice, park, remove) gives
// the exact maximum of |lag_i| over time: maxAbsLagNs.
struct VmStats {
	Nanos ranNs = 0;     // sum of charge(): time inside KVM_RUN
	Nanos wallNs = 0;    // pick -> endSlice, includes inline exit work
	Nanos waitingNs = 0; // runnable but not running
	Nanos parkedNs = 0;  // park -> wake (or -> remove)
	std::uint64_t slices = 0;
	std::array<std::uint64_t, kSliceEndCount> ends{}; // by SliceEnd
	Nanos lagNs = 0;                                  // current lag, see above
	Nanos maxAbsLagNs = 0;
	double maxAbsLagQuanta = 0.0; // maxAbsLagNs / quantum
};

// Reduces weights by their common gcd: frac shares given as percentages
// (70,30) become quanta per cycle (7,3).
std::vector<std::uint64_t> reduceByGcd(std::span<const std::uint64_t> weights);

class Scheduler {
public:
	// One VM per weight; weights must be in [1, kMaxWeight] and quantum
	// > 0 (for io it is only the unit lag is reported in). All VMs start
	// ready at time \a now. Throws std::invalid_argument.
	Scheduler(Policy policy, Nanos quantum, std::vector<std::uint64_t> weights,
		  Nanos now);

	Policy policy() const { return policy_; }
	Nanos quantum() const { return quantum_; }
	std::size_t size() const { return vms_.size(); }
	std::uint64_t weight(std::size_t vm) const;
	// Weight of the VM's target share: 1 (io, rr), quanta (frac), weight.
	std::uint64_t targetWeight(std::size_t vm) const;
	// Consecutive quanta per frac cycle (weights reduced by their gcd).
	std::uint64_t quantaPerCycle(std::size_t vm) const;

	// Chooses the next VM and marks it running. nullopt when nothing is
	// runnable. Throws std::logic_error while a slice is in progress.
	std::optional<Pick> pickNext(Nanos now);

	// Adds CPU time measured around one KVM_RUN of the running VM.
	void charge(std::size_t vm, Nanos ranNs);

	// Ends the running VM's slice. Timer, IoExit, Yield and Stop leave it
	// runnable, Park parks it, Halt and Fault remove it. The loop decides
	// whether to call this (see endsSlice()); if it does, the slice ends.
	void endSlice(std::size_t vm, SliceEnd why, Nanos now);

	bool endsSlice(SliceEnd why) const { return sched::endsSlice(policy_, why); }

	// Return true if the VM changed state; repeated calls are no-ops.
	bool park(std::size_t vm, Nanos now);
	bool wake(std::size_t vm, Nanos now);
	bool remove(std::size_t vm, Nanos now);

	VmState state(std::size_t vm) const;
	bool isRunnable(std::size_t vm) const;
	std::optional<std::size_t> running() const { return running_; }
	std::size_t runnableCount() const
	{
		return ready_.size() + eligible_.size() + (running_ ? 1 : 0);
	}
	std::size_t liveCount() const { return live_; }

	Nanos lagNs(std::size_t vm) const;
	// Snapshot with the open waiting/parked/running interval closed at now.
	VmStats stats(std::size_t vm, Nanos now) const;

private:
	struct Vm {
		std::uint64_t weight;
		std::uint64_t targetWeight;
		std::uint64_t quanta;
		Int128 stride;         // 2^64 / targetWeight: pass advance per ns
		Int128 pass = 0;       // virtual time of the service received
		Int128 frozenLag = 0;  // lag while parked/removed, ns * 2^64
		bool eligible = false; // stride: in eligible_ rather than ready_
		VmState state = VmState::Ready;
		Nanos readySince = 0;
		Nanos parkedSince = 0;
		Nanos sliceStart = 0;
		VmStats stats;
	};

	using ReadyKey = std::pair<Int128, std::size_t>;

	Vm &at(std::size_t vm);
	const Vm &at(std::size_t vm) const;
	void advanceTo(Nanos now);
	Int128 lagFixed(std::size_t vm) const;
	Int128 deadline(std::size_t vm) const;
	std::size_t nextInOrder(std::size_t after) const;
	std::size_t pickStride();
	void shareLag(Int128 lag);
	void observeLag(std::size_t vm);
	void enqueue(std::size_t vm);
	void dequeue(std::size_t vm);
	void leaveReady(std::size_t vm, Nanos now);
	void toReady(std::size_t vm, Nanos now);
	void toParked(std::size_t vm, Nanos now);
	void toRemoved(std::size_t vm);

	Policy policy_;
	Nanos quantum_;
	std::vector<Vm> vms_;

	// Ready (runnable, not running) VMs. For io, rr and frac ready_ is
	// keyed (0, id): the id order round robin walks. For stride it holds
	// the VMs not yet eligible, keyed (pass, id), and eligible_ those whose
	// pass <= V, keyed (virtual deadline, id).
	std::set<ReadyKey> ready_;
	std::set<ReadyKey> eligible_;
	std::optional<std::size_t> running_;
	std::size_t live_;
	std::size_t cursor_;         // last VM picked: round robin resumes after it
	std::uint64_t fracLeft_ = 0; // quanta left in the current frac run

	Int128 virtualTime_ = 0;           // V: fluid service per unit of weight
	std::uint64_t runnableWeight_ = 0; // target weight of runnable VMs
	Nanos lastNow_;
};

} // namespace quanta::sched
