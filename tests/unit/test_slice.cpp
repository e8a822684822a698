// The pure parts of a slice: its deadline and what an exit outcome means
// for it (slice end, how the VM ended, the line on stderr).
#include <doctest/doctest.h>
#include <string>

#include "loop/Slice.h"

using namespace quanta;
using sched::Policy;
using sched::SliceEnd;

TEST_CASE("deadline: the budget when others wait, none for a lone VM or under io")
{
	CHECK(sliceDeadline(100, 10, 2, std::nullopt, std::nullopt) == 110);
	CHECK(sliceDeadline(100, 10, 1, std::nullopt, std::nullopt) == std::nullopt);
	CHECK(sliceDeadline(100, std::nullopt, 3, std::nullopt, std::nullopt) == std::nullopt);
}

TEST_CASE("deadline: a lone VM's slices end at the lone limit when one is set")
{
	CHECK(sliceDeadline(100, 10, 1, 500, std::nullopt) == 600);
	// Others waiting: the budget, not the lone limit.
	CHECK(sliceDeadline(100, 10, 2, 500, std::nullopt) == 110);
	// No budget (policy io): no lone limit either.
	CHECK(sliceDeadline(100, std::nullopt, 1, 500, std::nullopt) == std::nullopt);
}

TEST_CASE("deadline: the end of the run cuts any slice")
{
	CHECK(sliceDeadline(100, 10, 2, std::nullopt, 105) == 105);
	CHECK(sliceDeadline(100, 10, 2, std::nullopt, 900) == 110);
	CHECK(sliceDeadline(100, std::nullopt, 1, std::nullopt, 900) == 900);
}

TEST_CASE("deadline: a parked VM's wake-up time cuts any slice")
{
	// A spinner beside a sleeper: the slice ends when the sleeper must wake,
	// not at the end of the spinner's budget.
	CHECK(sliceDeadline(100, 30, 2, std::nullopt, std::nullopt, 105) == 105);
	// A later wake-up leaves the budget alone.
	CHECK(sliceDeadline(100, 30, 2, std::nullopt, std::nullopt, 500) == 130);
	// The spinner is the only live VM (the sleeper is parked): no budget
	// timer, but the wake-up still ends its slice.
	CHECK(sliceDeadline(100, 30, 1, std::nullopt, std::nullopt, 140) == 140);
	// Under io there is no budget; the wake-up is the only timer.
	CHECK(sliceDeadline(100, std::nullopt, 3, std::nullopt, std::nullopt, 250) == 250);
	// The lone limit and the run's end still cut it when earlier.
	CHECK(sliceDeadline(100, 30, 1, 20, std::nullopt, 140) == 120);
	CHECK(sliceDeadline(100, 30, 2, std::nullopt, 110, 115) == 110);
	CHECK(sliceDeadline(100, 30, 2, std::nullopt, 120, 115) == 115);
}

TEST_CASE("deadline: a wake-up time already passed ends the slice at once")
{
	CHECK(sliceDeadline(100, 30, 2, std::nullopt, std::nullopt, 90) == 100);
	CHECK(sliceDeadline(100, std::nullopt, 1, std::nullopt, std::nullopt, 0) == 100);
}

TEST_CASE("a handled exit goes on, except an I/O exit under io")
{
	ExitOutcome io{ ExitAction::Continue };
	io.ioExit = true;
	CHECK_FALSE(classifyExit(io, Policy::Stride, false, 1).end);
	CHECK_FALSE(classifyExit(io, Policy::RoundRobin, false, 1).end);
	CHECK(classifyExit(io, Policy::Io, false, 1).end == SliceEnd::IoExit);
	CHECK_FALSE(classifyExit(ExitOutcome{ ExitAction::Continue }, Policy::Io, false, 1).end);
}

TEST_CASE("a signal ends the slice: the kick as Timer, any other as Stop")
{
	ExitOutcome signal{ ExitAction::Interrupted };
	CHECK(classifyExit(signal, Policy::Stride, true, 1).end == SliceEnd::Timer);
	CHECK(classifyExit(signal, Policy::Stride, false, 1).end == SliceEnd::Stop);
	CHECK(classifyExit(signal, Policy::Stride, true, 1).status == VmStatus::Running);
}

TEST_CASE("park and yield end the slice and leave the VM running")
{
	SliceVerdict park = classifyExit(ExitOutcome{ ExitAction::Park }, Policy::Stride, false, 4);
	CHECK(park.end == SliceEnd::Park);
	CHECK(park.status == VmStatus::Running);
	CHECK(park.message.empty());
	SliceVerdict yield = classifyExit(ExitOutcome{ ExitAction::Yield }, Policy::Fractional, false, 4);
	CHECK(yield.end == SliceEnd::Yield);
	CHECK(yield.status == VmStatus::Running);
}

TEST_CASE("HLT ends the VM as halted")
{
	SliceVerdict v = classifyExit(ExitOutcome{ ExitAction::Halt }, Policy::Stride, false, 9);
	CHECK(v.end == SliceEnd::Halt);
	CHECK(v.status == VmStatus::Halted);
	CHECK(v.diagnosis.empty());
	CHECK(v.message == "halted after 9 exits");
}

TEST_CASE("the exit hypercall: status 0 halted, anything else failed")
{
	ExitOutcome ok{ ExitAction::Exit };
	SliceVerdict halted = classifyExit(ok, Policy::Stride, false, 5);
	CHECK(halted.end == SliceEnd::Halt);
	CHECK(halted.status == VmStatus::Halted);
	CHECK(halted.diagnosis == "exit status 0");
	CHECK(halted.message == "exited with status 0 after 5 exits");

	SliceVerdict failed = classifyExit(ExitOutcome::exit(7), Policy::Stride, false, 6);
	CHECK(failed.end == SliceEnd::Halt);
	CHECK(failed.status == VmStatus::Failed);
	CHECK(failed.diagnosis == "exit status 7");
	CHECK(failed.message == "exited with status 7 after 6 exits");
}

TEST_CASE("a fault ends the VM with its diagnosis")
{
	SliceVerdict v = classifyExit(ExitOutcome::fault("triple fault at rip 0x10"), Policy::Stride, false, 2);
	CHECK(v.end == SliceEnd::Fault);
	CHECK(v.status == VmStatus::Faulted);
	CHECK(v.diagnosis == "triple fault at rip 0x10");
	CHECK(v.message == "stopped: triple fault at rip 0x10");
}

TEST_CASE("status names as the report prints them")
{
	CHECK(std::string(vmStatusName(VmStatus::Halted)) == "halted");
	CHECK(std::string(vmStatusName(VmStatus::Failed)) == "failed");
	CHECK(std::string(vmStatusName(VmStatus::Faulted)) == "faulted");
	CHECK(std::string(vmStatusName(VmStatus::Stopped)) == "stopped");
}

TEST_CASE("a fault the host's KVM caused is marked so (the run exits 3)")
{
	ExitOutcome outcome = ExitOutcome::fault("this host's KVM cannot run paged 4K (32-bit paging) guests");
	outcome.hostCannotRun = true;
	SliceVerdict verdict = classifyExit(outcome, Policy::Stride, false, 1);
	CHECK(verdict.status == VmStatus::Faulted);
	CHECK(verdict.hostCannotRun);
	CHECK_FALSE(classifyExit(ExitOutcome::fault("triple fault"), Policy::Stride, false, 1).hostCannotRun);
}

TEST_CASE("batch: slices run back to back until the limit, a signal or a wake-up time")
{
	// 1 ms slices with a 4 ms limit: the next slice runs at once until 4 ms
	// have passed since the batch began.
	CHECK(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::Timer, std::nullopt));
	CHECK(continueBatch(0, 3'999'999, 4'000'000, SliceEnd::Timer, std::nullopt));
	CHECK_FALSE(continueBatch(0, 4'000'000, 4'000'000, SliceEnd::Timer, std::nullopt));
	// Any slice end but a signal keeps the batch going (a park, a halt, an
	// I/O exit under io: channels and halts are handled inline).
	CHECK(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::Park, std::nullopt));
	CHECK(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::IoExit, std::nullopt));
	// SIGINT/SIGTERM ended KVM_RUN: libev must see the signal now.
	CHECK_FALSE(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::Stop, std::nullopt));
	// A parked VM's poll deadline has come: its libev timer must fire.
	CHECK_FALSE(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::Timer, 1'000'000));
	CHECK(continueBatch(0, 1'000'000, 4'000'000, SliceEnd::Timer, 1'000'001));
	// Limit 0: one slice per libev iteration.
	CHECK_FALSE(continueBatch(0, 0, 0, SliceEnd::Timer, std::nullopt));
}
