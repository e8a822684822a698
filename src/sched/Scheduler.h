/* SPDX-License-Identifier: MIT */
/*
 * The pure vCPU scheduler: decides which VM runs the next slice and for how
 * long, and keeps per-VM accounting. It never reads a clock; every time is
 * passed in as nanoseconds by the event loop, which makes it deterministic
 * and unit-testable with a simulated clock.
 *
 * Protocol expected from the loop:
 *
 *   pick = sched.pickNext(now)            // nullopt: sleep until a wake()
 *   arm the timer for pick->budget        // nullopt budget: no timer (io)
 *   loop:
 *     t0 = clock(); KVM_RUN; sched.charge(vm, clock() - t0)
 *     why = classify the exit
 *     if (!sched.endsSlice(why)) { service it inline; continue; }
 *     sched.endSlice(vm, why, clock()); break
 *
 * park(), wake() and remove() may be called for any VM between slices, and
 * for the running VM (then they end its slice as Park or Halt).
 */
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

/* 128-bit fixed point keeps stride passes and fluid shares drift-free. */
__extension__ using Uint128 = unsigned __int128;

/* Largest accepted weight: keeps the 2^64 fixed-point products in 128 bits. */
inline constexpr std::uint64_t kMaxWeight = std::uint64_t{1} << 32;

struct Pick {
	std::size_t vm;
	std::optional<Nanos> budget;	/* timer length; nullopt: no timer */
};

enum class VmState { Ready, Running, Parked, Removed };

/*
 * Lag of VM i (in ns; positive: the VM is owed CPU, negative: it is ahead):
 *
 *   lag_i = ideal_i - ran_i
 *
 * ideal_i is VM i's entitlement in a fluid (GPS) model of the CPU time that
 * was actually consumed: every nanosecond charged to any VM is split among
 * the VMs that were runnable (ready or running) at that moment in proportion
 * to their target weights (1 each for io/rr, the reduced quanta for frac,
 * the weight for stride). A parked or removed VM earns nothing, so lag stays
 * well defined when VMs park or halt, and idle host time does not count.
 * On wake a positive lag (credit) is dropped, mirroring stride's no-catch-up
 * rule; a negative lag (debt) is kept. A removed VM's lag is frozen.
 *
 * Lag only rises while a VM waits and only falls while it runs, so it is
 * sampled at every transition of that VM (pick, end of slice, park, remove)
 * and maxAbsLagNs is the exact maximum of |lag_i| over time.
 */
struct VmStats {
	Nanos ranNs = 0;	/* sum of charge(): time inside KVM_RUN */
	Nanos wallNs = 0;	/* pick -> endSlice, includes inline exit work */
	Nanos waitingNs = 0;	/* runnable but not running */
	Nanos parkedNs = 0;	/* park -> wake (or -> remove) */
	std::uint64_t slices = 0;
	std::array<std::uint64_t, kSliceEndCount> ends{}; /* by SliceEnd */
	Nanos lagNs = 0;	/* current lag, see above */
	Nanos maxAbsLagNs = 0;
	double maxAbsLagQuanta = 0.0;	/* maxAbsLagNs / quantum */
};

/*
 * Reduces weights by their common gcd: frac shares given as percentages
 * (70,30) become quanta per cycle (7,3).
 */
std::vector<std::uint64_t> reduceByGcd(std::span<const std::uint64_t> weights);

class Scheduler
{
public:
	/*
	 * One VM per weight; weights must be in [1, kMaxWeight] and quantum
	 * > 0 (for io it is only the unit lag is reported in). All VMs start
	 * ready at time \a now. Throws std::invalid_argument.
	 */
	Scheduler(Policy policy, Nanos quantum, std::vector<std::uint64_t> weights,
		  Nanos now);

	Policy policy() const { return policy_; }
	Nanos quantum() const { return quantum_; }
	std::size_t size() const { return vms_.size(); }
	std::uint64_t weight(std::size_t vm) const;
	/* Weight of the VM's target share: 1 (io, rr), quanta (frac), weight. */
	std::uint64_t targetWeight(std::size_t vm) const;
	/* Consecutive quanta per frac cycle (weights reduced by their gcd). */
	std::uint64_t quantaPerCycle(std::size_t vm) const;

	/*
	 * Chooses the next VM and marks it running. nullopt when nothing is
	 * runnable. Throws std::logic_error while a slice is in progress.
	 */
	std::optional<Pick> pickNext(Nanos now);

	/* Adds CPU time measured around one KVM_RUN of the running VM. */
	void charge(std::size_t vm, Nanos ranNs);

	/*
	 * Ends the running VM's slice. Timer, IoExit, Yield and Stop leave it
	 * runnable, Park parks it, Halt and Fault remove it. The loop decides
	 * whether to call this (see endsSlice()); if it does, the slice ends.
	 */
	void endSlice(std::size_t vm, SliceEnd why, Nanos now);

	bool endsSlice(SliceEnd why) const { return sched::endsSlice(policy_, why); }

	/* Return true if the VM changed state; repeated calls are no-ops. */
	bool park(std::size_t vm, Nanos now);
	bool wake(std::size_t vm, Nanos now);
	bool remove(std::size_t vm, Nanos now);

	VmState state(std::size_t vm) const;
	bool isRunnable(std::size_t vm) const;
	std::optional<std::size_t> running() const { return running_; }
	std::size_t runnableCount() const { return ready_.size() + (running_ ? 1 : 0); }
	std::size_t liveCount() const { return live_; }

	Nanos lagNs(std::size_t vm) const;
	/* Snapshot with the open waiting/parked/running interval closed at now. */
	VmStats stats(std::size_t vm, Nanos now) const;

private:
	struct Vm {
		std::uint64_t weight;
		std::uint64_t targetWeight;
		std::uint64_t quanta;
		Uint128 stride;		/* 2^64 / weight: pass advance per ns */
		Uint128 pass = 0;	/* stride's virtual time of this VM */
		VmState state = VmState::Ready;
		Uint128 ideal = 0;	/* fluid entitlement of closed periods, ns * 2^64 */
		Uint128 fluidStart = 0;	/* fluid_ when the open period began */
		Nanos readySince = 0;
		Nanos parkedSince = 0;
		Nanos sliceStart = 0;
		VmStats stats;
	};

	using ReadyKey = std::pair<Uint128, std::size_t>;

	Vm &at(std::size_t vm);
	const Vm &at(std::size_t vm) const;
	void advanceTo(Nanos now);
	ReadyKey key(std::size_t vm) const;
	std::size_t nextInOrder(std::size_t after) const;
	void refreshVirtualTime();
	void joinFluid(std::size_t vm);
	void leaveFluid(std::size_t vm);
	void observeLag(std::size_t vm);
	void leaveReady(std::size_t vm, Nanos now);
	void toReady(std::size_t vm, Nanos now);
	void toParked(std::size_t vm, Nanos now);
	void toRemoved(std::size_t vm);

	Policy policy_;
	Nanos quantum_;
	std::vector<Vm> vms_;

	/*
	 * Ready (runnable, not running) VMs ordered by (pass, id). Only stride
	 * advances passes; for the other policies the key is (0, id), i.e. id
	 * order, which is what round robin walks.
	 */
	std::set<ReadyKey> ready_;
	std::optional<std::size_t> running_;
	std::size_t live_;
	std::size_t cursor_;		/* last VM picked: round robin resumes after it */
	std::uint64_t fracLeft_ = 0;	/* quanta left in the current frac run */

	Uint128 virtualTime_ = 0;	/* stride: min pass of runnable VMs, monotonic */
	Uint128 fluid_ = 0;		/* fluid service per unit weight, ns * 2^64 */
	std::uint64_t fluidWeight_ = 0;	/* target weight of runnable VMs */
	Nanos lastNow_;
};

} /* namespace quanta::sched */
