/* SPDX-License-Identifier: MIT */
#include "sched/Scheduler.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace quanta::sched {

namespace {

constexpr unsigned kFixedShift = 64;

Uint128 toFixed(Nanos ns)
{
	return static_cast<Uint128>(static_cast<std::uint64_t>(ns)) << kFixedShift;
}

/* Rounds a ns * 2^64 fixed-point value to the nearest ns. */
Nanos fromFixed(Uint128 fx)
{
	return static_cast<Nanos>((fx + (Uint128{1} << (kFixedShift - 1))) >> kFixedShift);
}

} /* namespace */

std::vector<std::uint64_t> reduceByGcd(std::span<const std::uint64_t> weights)
{
	std::uint64_t g = 0;
	for (std::uint64_t w : weights)
		g = std::gcd(g, w);

	std::vector<std::uint64_t> reduced(weights.begin(), weights.end());
	if (g > 1) {
		for (std::uint64_t &w : reduced)
			w /= g;
	}
	return reduced;
}

Scheduler::Scheduler(Policy policy, Nanos quantum, std::vector<std::uint64_t> weights,
		     Nanos now)
	: policy_(policy), quantum_(quantum), live_(weights.size()),
	  cursor_(weights.empty() ? 0 : weights.size() - 1), lastNow_(now)
{
	if (weights.empty())
		throw std::invalid_argument("scheduler: no VMs");
	if (quantum <= 0)
		throw std::invalid_argument("scheduler: quantum must be > 0");
	for (std::uint64_t w : weights) {
		if (w == 0 || w > kMaxWeight)
			throw std::invalid_argument("scheduler: weight " + std::to_string(w) +
						    " out of range [1, 2^32]");
	}

	const std::vector<std::uint64_t> quanta = reduceByGcd(weights);

	vms_.reserve(weights.size());
	for (std::size_t i = 0; i < weights.size(); ++i) {
		Vm vm{};
		vm.weight = weights[i];
		vm.quanta = quanta[i];
		switch (policy) {
		case Policy::Io:
		case Policy::RoundRobin:
			vm.targetWeight = 1;
			break;
		case Policy::Fractional:
			vm.targetWeight = quanta[i];
			break;
		case Policy::Stride:
			vm.targetWeight = weights[i];
			break;
		}
		vm.stride = (Uint128{1} << kFixedShift) / weights[i];
		vm.readySince = now;
		vms_.push_back(vm);
	}

	for (std::size_t i = 0; i < vms_.size(); ++i) {
		joinFluid(i);
		ready_.insert(key(i));
	}
}

Scheduler::Vm &Scheduler::at(std::size_t vm)
{
	if (vm >= vms_.size())
		throw std::out_of_range("scheduler: no VM " + std::to_string(vm));
	return vms_[vm];
}

const Scheduler::Vm &Scheduler::at(std::size_t vm) const
{
	if (vm >= vms_.size())
		throw std::out_of_range("scheduler: no VM " + std::to_string(vm));
	return vms_[vm];
}

std::uint64_t Scheduler::weight(std::size_t vm) const
{
	return at(vm).weight;
}

std::uint64_t Scheduler::targetWeight(std::size_t vm) const
{
	return at(vm).targetWeight;
}

std::uint64_t Scheduler::quantaPerCycle(std::size_t vm) const
{
	return at(vm).quanta;
}

VmState Scheduler::state(std::size_t vm) const
{
	return at(vm).state;
}

bool Scheduler::isRunnable(std::size_t vm) const
{
	const VmState s = at(vm).state;
	return s == VmState::Ready || s == VmState::Running;
}

/* Time must not run backwards: that would corrupt every interval. */
void Scheduler::advanceTo(Nanos now)
{
	if (now < lastNow_)
		throw std::invalid_argument("scheduler: time went backwards");
	lastNow_ = now;
}

Scheduler::ReadyKey Scheduler::key(std::size_t vm) const
{
	return { policy_ == Policy::Stride ? vms_[vm].pass : Uint128{0}, vm };
}

/* First ready VM after \a after in id order, wrapping around. */
std::size_t Scheduler::nextInOrder(std::size_t after) const
{
	auto it = ready_.lower_bound({ Uint128{0}, after + 1 });
	if (it == ready_.end())
		it = ready_.begin();
	return it->second;
}

/*
 * Global virtual time: the minimum pass of the runnable VMs, or the last
 * such value while none is runnable. Every runnable pass is >= it (passes
 * only grow, and wake() lifts passes to it), so it never decreases.
 */
void Scheduler::refreshVirtualTime()
{
	if (policy_ != Policy::Stride)
		return;

	std::optional<Uint128> min;
	if (!ready_.empty())
		min = ready_.begin()->first;
	if (running_) {
		const Uint128 pass = vms_[*running_].pass;
		min = min ? std::min(*min, pass) : pass;
	}
	if (min)
		virtualTime_ = std::max(virtualTime_, *min);
}

void Scheduler::joinFluid(std::size_t vm)
{
	vms_[vm].fluidStart = fluid_;
	fluidWeight_ += vms_[vm].targetWeight;
}

void Scheduler::leaveFluid(std::size_t vm)
{
	Vm &v = vms_[vm];
	v.ideal += static_cast<Uint128>(v.targetWeight) * (fluid_ - v.fluidStart);
	fluidWeight_ -= v.targetWeight;
}

Nanos Scheduler::lagNs(std::size_t vm) const
{
	const Vm &v = at(vm);
	Uint128 ideal = v.ideal;
	if (v.state == VmState::Ready || v.state == VmState::Running)
		ideal += static_cast<Uint128>(v.targetWeight) * (fluid_ - v.fluidStart);
	return fromFixed(ideal) - v.stats.ranNs;
}

void Scheduler::observeLag(std::size_t vm)
{
	const Nanos lag = lagNs(vm);
	VmStats &s = vms_[vm].stats;
	s.maxAbsLagNs = std::max(s.maxAbsLagNs, lag < 0 ? -lag : lag);
}

std::optional<Pick> Scheduler::pickNext(Nanos now)
{
	if (running_)
		throw std::logic_error("scheduler: pickNext() during a slice");
	advanceTo(now);
	if (ready_.empty())
		return std::nullopt;

	std::size_t vm;
	switch (policy_) {
	case Policy::Stride:
		vm = ready_.begin()->second;
		break;
	case Policy::Fractional:
		/* Continue the current run of consecutive quanta, else start the next. */
		if (fracLeft_ > 0 && vms_[cursor_].state == VmState::Ready) {
			vm = cursor_;
			--fracLeft_;
		} else {
			vm = nextInOrder(cursor_);
			fracLeft_ = vms_[vm].quanta - 1;
		}
		break;
	case Policy::Io:
	case Policy::RoundRobin:
	default:
		vm = nextInOrder(cursor_);
		break;
	}

	Vm &v = vms_[vm];
	ready_.erase(key(vm));
	v.state = VmState::Running;
	v.stats.waitingNs += now - v.readySince;
	v.stats.slices++;
	v.sliceStart = now;
	running_ = vm;
	cursor_ = vm;
	observeLag(vm);

	std::optional<Nanos> budget;
	if (hasBudget(policy_))
		budget = quantum_;
	return Pick{ vm, budget };
}

void Scheduler::charge(std::size_t vm, Nanos ranNs)
{
	Vm &v = at(vm);
	if (running_ != vm)
		throw std::logic_error("scheduler: charge() to a VM that is not running");
	if (ranNs < 0)
		throw std::invalid_argument("scheduler: negative run time");

	v.stats.ranNs += ranNs;
	v.pass += static_cast<Uint128>(ranNs) * v.stride;
	/* fluidWeight_ > 0: the running VM itself is in the fluid set. */
	fluid_ += toFixed(ranNs) / fluidWeight_;
}

void Scheduler::endSlice(std::size_t vm, SliceEnd why, Nanos now)
{
	Vm &v = at(vm);
	if (running_ != vm)
		throw std::logic_error("scheduler: endSlice() for a VM that is not running");
	advanceTo(now);

	v.stats.wallNs += now - v.sliceStart;
	v.stats.ends[static_cast<std::size_t>(why)]++;
	observeLag(vm);
	/* Capture virtual time while this VM still counts as runnable. */
	refreshVirtualTime();
	running_.reset();

	switch (why) {
	case SliceEnd::Park:
		toParked(vm, now);
		break;
	case SliceEnd::Halt:
	case SliceEnd::Fault:
		toRemoved(vm);
		break;
	case SliceEnd::Timer:
	case SliceEnd::IoExit:
	case SliceEnd::Yield:
	case SliceEnd::Stop:
		toReady(vm, now);
		break;
	}
}

/* Takes a ready VM out of the ready set, closing its waiting interval. */
void Scheduler::leaveReady(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	refreshVirtualTime();
	ready_.erase(key(vm));
	v.stats.waitingNs += now - v.readySince;
	observeLag(vm);
}

void Scheduler::toReady(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	v.state = VmState::Ready;
	v.readySince = now;
	ready_.insert(key(vm));
}

void Scheduler::toParked(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	leaveFluid(vm);
	v.state = VmState::Parked;
	v.parkedSince = now;
	/* A parked VM forfeits the rest of its frac run. */
	if (cursor_ == vm)
		fracLeft_ = 0;
}

void Scheduler::toRemoved(std::size_t vm)
{
	Vm &v = vms_[vm];
	if (v.state != VmState::Parked)
		leaveFluid(vm);
	v.state = VmState::Removed;
	--live_;
	if (cursor_ == vm)
		fracLeft_ = 0;
}

bool Scheduler::park(std::size_t vm, Nanos now)
{
	switch (at(vm).state) {
	case VmState::Running:
		endSlice(vm, SliceEnd::Park, now);
		return true;
	case VmState::Ready:
		advanceTo(now);
		leaveReady(vm, now);
		toParked(vm, now);
		return true;
	case VmState::Parked:
	case VmState::Removed:
		break;
	}
	return false;
}

bool Scheduler::wake(std::size_t vm, Nanos now)
{
	Vm &v = at(vm);
	if (v.state != VmState::Parked)
		return false;
	advanceTo(now);

	v.stats.parkedNs += now - v.parkedSince;

	/* No catch-up burst: time not used while parked is not banked. */
	refreshVirtualTime();
	v.pass = std::max(v.pass, virtualTime_);
	const Uint128 ran = toFixed(v.stats.ranNs);
	if (v.ideal > ran)
		v.ideal = ran;

	joinFluid(vm);
	toReady(vm, now);
	return true;
}

bool Scheduler::remove(std::size_t vm, Nanos now)
{
	Vm &v = at(vm);
	switch (v.state) {
	case VmState::Running:
		endSlice(vm, SliceEnd::Halt, now);
		return true;
	case VmState::Ready:
		advanceTo(now);
		leaveReady(vm, now);
		toRemoved(vm);
		return true;
	case VmState::Parked:
		advanceTo(now);
		v.stats.parkedNs += now - v.parkedSince;
		toRemoved(vm);
		return true;
	case VmState::Removed:
		break;
	}
	return false;
}

VmStats Scheduler::stats(std::size_t vm, Nanos now) const
{
	const Vm &v = at(vm);
	VmStats s = v.stats;

	switch (v.state) {
	case VmState::Ready:
		s.waitingNs += std::max<Nanos>(0, now - v.readySince);
		break;
	case VmState::Running:
		s.wallNs += std::max<Nanos>(0, now - v.sliceStart);
		break;
	case VmState::Parked:
		s.parkedNs += std::max<Nanos>(0, now - v.parkedSince);
		break;
	case VmState::Removed:
		break;
	}

	s.lagNs = lagNs(vm);
	s.maxAbsLagQuanta = static_cast<double>(s.maxAbsLagNs) / static_cast<double>(quantum_);
	return s;
}

} /* namespace quanta::sched */
