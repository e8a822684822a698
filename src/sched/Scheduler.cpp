// SPDX-License-Identifier: MIT
#include "sched/Scheduler.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace quanta::sched {

namespace {

constexpr unsigned kFixedShift = 64;
constexpr Int128 kOne = Int128{ 1 } << kFixedShift;

Int128 toFixed(Nanos ns)
{
	return static_cast<Int128>(ns) << kFixedShift;
}

// Rounds a ns * 2^64 fixed-point value to the nearest ns.
Nanos fromFixed(Int128 fx)
{
	const Int128 half = kOne / 2;
	return static_cast<Nanos>(fx >= 0 ? (fx + half) / kOne : -((-fx + half) / kOne));
}

} // namespace

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
		vm.stride = kOne / static_cast<Int128>(vm.targetWeight);
		vm.readySince = now;
		vms_.push_back(vm);
	}

	for (std::size_t i = 0; i < vms_.size(); ++i) {
		runnableWeight_ += vms_[i].targetWeight;
		enqueue(i);
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

// Time must not run backwards: that would corrupt every interval.
void Scheduler::advanceTo(Nanos now)
{
	if (now < lastNow_)
		throw std::invalid_argument("scheduler: time went backwards");
	lastNow_ = now;
}

Int128 Scheduler::lagFixed(std::size_t vm) const
{
	const Vm &v = vms_[vm];
	if (v.state == VmState::Ready || v.state == VmState::Running)
		return static_cast<Int128>(v.targetWeight) * (virtualTime_ - v.pass);
	return v.frozenLag;
}

Nanos Scheduler::lagNs(std::size_t vm) const
{
	static_cast<void>(at(vm)); // range check
	return fromFixed(lagFixed(vm));
}

// Virtual time at which the fluid CPU would have given the VM a full quantum.
Int128 Scheduler::deadline(std::size_t vm) const
{
	return vms_[vm].pass + static_cast<Int128>(quantum_) * vms_[vm].stride;
}

// Puts a VM that became ready into the ready set.
void Scheduler::enqueue(std::size_t vm)
{
	Vm &v = vms_[vm];
	v.eligible = false;
	ready_.insert({ policy_ == Policy::Stride ? v.pass : Int128{ 0 }, vm });
}

void Scheduler::dequeue(std::size_t vm)
{
	Vm &v = vms_[vm];
	if (v.eligible)
		eligible_.erase({ deadline(vm), vm });
	else
		ready_.erase({ policy_ == Policy::Stride ? v.pass : Int128{ 0 }, vm });
	v.eligible = false;
}

// First ready VM after \a after in id order, wrapping around.
std::size_t Scheduler::nextInOrder(std::size_t after) const
{
	auto it = ready_.lower_bound({ Int128{ 0 }, after + 1 });
	if (it == ready_.end())
		it = ready_.begin();
	return it->second;
}

// Earliest eligible virtual deadline first (EEVDF, Stoica et al. 1995). A VM
// is eligible once V has caught up with its pass (lag >= 0); among those the
// one whose quantum would end first in the fluid model runs. This is the
// stride pick (lowest pass, ties by id) refined so that a heavy VM is not
// held up behind a crowd of light ones with equal passes, which bounds every
// VM's lag to about one quantum. V only grows between removals, so each VM
// moves from ready_ to eligible_ at most once per slice: O(log N) amortised.
std::size_t Scheduler::pickStride()
{
	while (!ready_.empty() && ready_.begin()->first <= virtualTime_) {
		const std::size_t vm = ready_.begin()->second;
		ready_.erase(ready_.begin());
		vms_[vm].eligible = true;
		eligible_.insert({ deadline(vm), vm });
	}

	// Rounding can leave nobody eligible by a hair: fall back to lowest pass.
	if (!eligible_.empty())
		return eligible_.begin()->second;
	return ready_.begin()->second;
}

// Spreads a leaving VM's lag over the runnable VMs in proportion to their
// weights by moving V. V going back makes the eligible VMs whose pass is
// now ahead of it ineligible again: they go back to ready_ (removals only;
// the rest stay, as pickStride would put them back at once).
void Scheduler::shareLag(Int128 lag)
{
	if (runnableWeight_ == 0) {
		// Idle: the credit being handed over is what parked VMs owe
		// (the lags sum to zero), and nobody is left to repay: clear it.
		for (Vm &v : vms_) {
			if (v.state == VmState::Parked)
				v.frozenLag = 0;
		}
		return;
	}
	if (lag == 0)
		return;
	virtualTime_ += lag / static_cast<Int128>(runnableWeight_);

	if (lag < 0) {
		for (auto it = eligible_.begin(); it != eligible_.end();) {
			Vm &v = vms_[it->second];
			if (v.pass <= virtualTime_) {
				++it;
				continue;
			}
			v.eligible = false;
			ready_.insert({ v.pass, it->second });
			it = eligible_.erase(it);
		}
	}
}

void Scheduler::observeLag(std::size_t vm)
{
	const Nanos lag = fromFixed(lagFixed(vm));
	VmStats &s = vms_[vm].stats;
	s.maxAbsLagNs = std::max(s.maxAbsLagNs, lag < 0 ? -lag : lag);
}

std::optional<Pick> Scheduler::pickNext(Nanos now)
{
	if (running_)
		throw std::logic_error("scheduler: pickNext() during a slice");
	advanceTo(now);
	if (runnableCount() == 0)
		return std::nullopt;

	std::size_t vm;
	switch (policy_) {
	case Policy::Stride:
		vm = pickStride();
		break;
	case Policy::Fractional:
		// Continue the current run of consecutive quanta, else start the next.
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
	dequeue(vm);
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
	v.pass += static_cast<Int128>(ranNs) * v.stride;
	// runnableWeight_ > 0: the running VM itself is runnable.
	virtualTime_ += toFixed(ranNs) / static_cast<Int128>(runnableWeight_);
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

// Takes a ready VM out of the ready sets, closing its waiting interval.
void Scheduler::leaveReady(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	dequeue(vm);
	v.stats.waitingNs += now - v.readySince;
	observeLag(vm);
}

void Scheduler::toReady(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	v.state = VmState::Ready;
	v.readySince = now;
	enqueue(vm);
}

// From Ready or Running (already out of the ready sets).
void Scheduler::toParked(std::size_t vm, Nanos now)
{
	Vm &v = vms_[vm];
	const Int128 lag = lagFixed(vm);
	runnableWeight_ -= v.targetWeight;
	v.state = VmState::Parked;
	v.parkedSince = now;

	// Credit goes to whoever runs meanwhile; debt stays with the VM.
	if (lag > 0 || runnableWeight_ == 0) {
		v.frozenLag = 0;
		shareLag(lag);
	} else {
		v.frozenLag = lag;
	}

	// A parked VM forfeits the rest of its frac run.
	if (cursor_ == vm)
		fracLeft_ = 0;
}

// From any live state (already out of the ready sets).
void Scheduler::toRemoved(std::size_t vm)
{
	Vm &v = vms_[vm];
	const Int128 lag = lagFixed(vm);
	if (v.state != VmState::Parked)
		runnableWeight_ -= v.targetWeight;
	v.state = VmState::Removed;
	v.frozenLag = lag;
	--live_;

	// Never repaid nor owed again: the runnable VMs absorb it.
	shareLag(lag);

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

	// Rejoin at the current virtual time plus any debt: no catch-up burst
	// for the time spent parked, and no escaping a debt by parking.
	v.pass = virtualTime_ - v.frozenLag / static_cast<Int128>(v.targetWeight);
	v.frozenLag = 0;
	runnableWeight_ += v.targetWeight;
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

	s.lagNs = fromFixed(lagFixed(vm));
	s.maxAbsLagQuanta = static_cast<double>(s.maxAbsLagNs) / static_cast<double>(quantum_);
	return s;
}

} // namespace quanta::sched
