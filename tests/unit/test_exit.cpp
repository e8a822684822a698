// Exit handling without /dev/kvm: synthetic kvm_run values and data areas
// go through handleExit, and the outcome and the exit counters are checked.
#include <cerrno>
#include <cstring>
#include <deque>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <quanta/abi.h>

#include "vmm/Exit.h"

using namespace quanta;

namespace {

constexpr std::uint64_t kMemory = 1 << 20;

class FakeGuest : public GuestContext {
public:
	GuestMemory &memory() override { return memory_; }
	Translation translatePointer(std::uint64_t) override { return {}; }
	std::uint64_t pointerBase() override { return 0; }
	void print(std::string_view) override {}
	void warn(std::string_view) override {}
	std::int64_t uptimeNs() const override { return 0; }

private:
	GuestMemory memory_{ kMemory };
};

// Input that can run dry and be topped up, as standard input can.
class QueuedInput : public InputSource {
public:
	InputByte next() override
	{
		if (bytes.empty())
			return { ended ? InputByte::State::End : InputByte::State::Empty };
		std::uint8_t byte = static_cast<std::uint8_t>(bytes.front());
		bytes.pop_front();
		return { InputByte::State::Byte, byte };
	}

	std::deque<char> bytes;
	bool ended = false;
};

// What the console wrote, through a pipe.
class Output {
public:
	Output() { REQUIRE(::pipe2(fds_, O_NONBLOCK) == 0); }
	~Output()
	{
		::close(fds_[0]);
		::close(fds_[1]);
	}
	int fd() const { return fds_[1]; }
	std::string read()
	{
		char buf[256];
		ssize_t n = ::read(fds_[0], buf, sizeof buf);
		return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
	}

private:
	int fds_[2];
};

// One VM's devices and a kvm_run page with room for string I/O data.
struct Bench {
	explicit Bench(DeviceOptions options = {}, ChannelHub *channels = nullptr)
		: devices(guest, console, console.addVm("vm"), input, gpa(0xf0000), withChannels(options, channels))
	{
	}

	static DeviceOptions withChannels(DeviceOptions options, ChannelHub *channels)
	{
		options.channels = channels;
		return options;
	}

	ExitOutcome exit(int runResult = 0) { return handleExit({ runResult, run, data() }, devices); }
	ExitOutcome retry() { return retryExit({ 0, run, data() }, devices); }
	std::span<std::uint8_t> data() { return { page + kDataOffset, sizeof(page) - kDataOffset }; }
	const ExitStats &stats() const { return devices.stats(); }

	void io(std::uint16_t port, bool out, std::uint8_t size, std::uint32_t count = 1)
	{
		run.exit_reason = KVM_EXIT_IO;
		run.io.port = port;
		run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
		run.io.size = size;
		run.io.count = count;
		run.io.data_offset = kDataOffset;
	}
	void out32(std::uint16_t port, std::uint32_t value)
	{
		io(port, true, 4);
		std::memcpy(data().data(), &value, 4);
	}
	void reason(std::uint32_t exitReason) { run.exit_reason = exitReason; }

	static constexpr std::size_t kDataOffset = 1024;
	FakeGuest guest;
	Output output;
	Console console{ output.fd(), false };
	QueuedInput input;
	VmDevices devices;
	kvm_run run{};
	std::uint8_t page[4096] = {};
};

} // namespace

TEST_CASE("a serial OUT prints and is counted by direction and port")
{
	Bench b;
	b.io(QUANTA_PORT_SERIAL, true, 1);
	b.data()[0] = 'A';
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Continue);
	CHECK(outcome.ioExit);
	b.console.flushAll();
	CHECK(b.output.read() == "A");
	CHECK(b.stats().guestExits == 1);
	CHECK(b.stats().ioOut == 1);
	CHECK(b.stats().ioIn == 0);
	CHECK(b.stats().byPort.at(QUANTA_PORT_SERIAL).out == 1);
}

TEST_CASE("rep outsb is one exit whose elements all reach the device")
{
	Bench b;
	b.io(QUANTA_PORT_SERIAL, true, 1, 3);
	std::memcpy(b.data().data(), "hi\n", 3);
	CHECK(b.exit().action == ExitAction::Continue);
	b.console.flushAll();
	CHECK(b.output.read() == "hi\n");
	CHECK(b.stats().guestExits == 1);
	CHECK(b.stats().ioOut == 1);
}

TEST_CASE("a serial IN reads input into the data area")
{
	Bench b;
	b.input.bytes = { 'x' };
	b.io(QUANTA_PORT_SERIAL, false, 1);
	CHECK(b.exit().action == ExitAction::Continue);
	CHECK(b.data()[0] == 'x');
	CHECK(b.stats().ioIn == 1);
	CHECK(b.stats().byPort.at(QUANTA_PORT_SERIAL).in == 1);
}

TEST_CASE("rep insb without enough input parks on input and resumes where it stopped")
{
	Bench b;
	b.input.bytes = { 'a', 'b' };
	b.io(QUANTA_PORT_SERIAL, false, 1, 3);
	ExitOutcome parked = b.exit();
	CHECK(parked.action == ExitAction::Park);
	CHECK(parked.parkReason == ParkReason::Input);
	CHECK(parked.ioExit);

	b.input.bytes = { 'c' };
	ExitOutcome resumed = b.retry();
	CHECK(resumed.action == ExitAction::Continue);
	CHECK(std::string(reinterpret_cast<const char *>(b.data().data()), 3) == "abc");
	// The retry completes the same exit: it is not counted again.
	CHECK(b.stats().guestExits == 1);
	CHECK(b.stats().ioIn == 1);
}

TEST_CASE("an unknown port faults, or reads all ones when ignored")
{
	Bench faulting;
	faulting.io(0x80, false, 4);
	ExitOutcome outcome = faulting.exit();
	CHECK(outcome.action == ExitAction::Fault);
	CHECK(outcome.diagnosis == "unknown port 0x80 (in, 4 bytes)");
	CHECK(faulting.stats().ioIn == 1);
	CHECK(faulting.stats().byPort.at(0x80).in == 1);

	DeviceOptions ignore;
	ignore.unknownPorts = UnknownPortPolicy::Ignore;
	Bench ignoring(ignore);
	ignoring.io(0x80, false, 2);
	CHECK(ignoring.exit().action == ExitAction::Continue);
	CHECK(ignoring.data()[0] == 0xff);
	CHECK(ignoring.data()[1] == 0xff);
}

TEST_CASE("a device's error is a fault naming the port and the reason")
{
	Bench b;
	b.io(QUANTA_PORT_SERIAL, true, 2);
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Fault);
	CHECK(outcome.diagnosis.starts_with("port 0xe9 (out, 2 bytes): "));
}

TEST_CASE("a data area too small for the access is a fault, not an overrun")
{
	Bench b;
	b.io(QUANTA_PORT_SERIAL, true, 1, 8);
	ExitOutcome outcome = handleExit({ 0, b.run, b.data().first(4) }, b.devices);
	CHECK(outcome.action == ExitAction::Fault);
	CHECK(outcome.diagnosis.find("do not fit the 4-byte data area") != std::string::npos);
	b.console.flushAll();
	CHECK(b.output.read().empty());
}

TEST_CASE("the exit hypercall's status travels in the outcome")
{
	Bench b;
	b.guest.memory().store(gpa(0x1000), quanta_hc_exit{ 3, 0 });
	b.out32(QUANTA_PORT_HC_BASE + QUANTA_HC_EXIT, 0x1000);
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Exit);
	CHECK(outcome.exitStatus == 3);
	CHECK(outcome.ioExit);
	CHECK(b.guest.memory().load<quanta_hc_exit>(gpa(0x1000))->ret == QUANTA_OK);
}

TEST_CASE("the yield hypercall gives up the slice")
{
	Bench b;
	b.guest.memory().store(gpa(0x1000), quanta_hc_yield{ 0, -1 });
	b.out32(QUANTA_PORT_HC_BASE + QUANTA_HC_YIELD, 0x1000);
	CHECK(b.exit().action == ExitAction::Yield);
}

TEST_CASE("receiving from an empty channel parks on the channel")
{
	ChannelHub hub({ ChannelSpec{ "c", 1, 0 } }, 2);
	Bench b({}, &hub); // VM 0: the consumer
	quanta_hc_chan call{};
	call.channel = 0;
	call.buffer = 0x2000;
	call.length = 64;
	b.guest.memory().store(gpa(0x1000), call);
	b.out32(QUANTA_PORT_HC_BASE + QUANTA_HC_CHAN_RECV, 0x1000);
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Park);
	CHECK(outcome.parkReason == ParkReason::Channel);
	CHECK(hub.waitOf(0).has_value());
}

TEST_CASE("HC_numExits counts the exit that asks")
{
	Bench b;
	b.reason(KVM_EXIT_HLT);
	b.exit();
	b.io(QUANTA_PORT_HC_NUM_EXITS, false, 4);
	CHECK(b.exit().action == ExitAction::Continue);
	std::uint32_t exits = 0;
	std::memcpy(&exits, b.data().data(), 4);
	CHECK(exits == 2);
}

TEST_CASE("HLT halts")
{
	Bench b;
	b.reason(KVM_EXIT_HLT);
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Halt);
	CHECK_FALSE(outcome.ioExit);
	CHECK(b.stats().hlt == 1);
	CHECK(b.stats().guestExits == 1);
}

TEST_CASE("MMIO faults, outside memory and (unexpectedly) inside it")
{
	Bench b;
	b.reason(KVM_EXIT_MMIO);
	b.run.mmio.phys_addr = 0xfee00000;
	b.run.mmio.len = 4;
	b.run.mmio.is_write = 1;
	ExitOutcome outside = b.exit();
	CHECK(outside.action == ExitAction::Fault);
	CHECK(outside.diagnosis == "MMIO outside memory: write of 4 bytes at guest-physical 0xfee00000");

	b.run.mmio.phys_addr = 0x1000;
	b.run.mmio.is_write = 0;
	ExitOutcome inside = b.exit();
	CHECK(inside.action == ExitAction::Fault);
	CHECK(inside.diagnosis == "MMIO inside memory (no MMIO devices): read of 4 bytes at guest-physical 0x1000");
	CHECK(b.stats().mmio == 2);
	CHECK(b.stats().guestExits == 2);
}

TEST_CASE("SHUTDOWN, FAIL_ENTRY and INTERNAL_ERROR fault with their details")
{
	Bench b;
	b.reason(KVM_EXIT_SHUTDOWN);
	ExitOutcome shutdown = b.exit();
	CHECK(shutdown.action == ExitAction::Fault);
	CHECK(shutdown.diagnosis == "triple fault (KVM_EXIT_SHUTDOWN)");

	b.reason(KVM_EXIT_FAIL_ENTRY);
	b.run.fail_entry.hardware_entry_failure_reason = 0x21;
	CHECK(b.exit().diagnosis == "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason 0x21)");

	b.reason(KVM_EXIT_INTERNAL_ERROR);
	b.run.internal.suberror = 1;
	ExitOutcome internal = b.exit();
	CHECK(internal.action == ExitAction::Fault);
	CHECK(internal.diagnosis == "KVM internal error (suberror 1)");

	CHECK(b.stats().shutdown == 1);
	CHECK(b.stats().failEntry == 1);
	CHECK(b.stats().internalError == 1);
	CHECK(b.stats().guestExits == 3);
}

TEST_CASE("a signal (EINTR or KVM_EXIT_INTR) interrupts and is not the guest's exit")
{
	Bench b;
	CHECK(b.exit(-EINTR).action == ExitAction::Interrupted);
	b.reason(KVM_EXIT_INTR);
	CHECK(b.exit(0).action == ExitAction::Interrupted);
	CHECK(b.stats().interrupts == 2);
	CHECK(b.stats().guestExits == 0);
}

TEST_CASE("EAGAIN retries; another KVM_RUN error faults")
{
	Bench b;
	CHECK(b.exit(-EAGAIN).action == ExitAction::Continue);
	ExitOutcome failed = b.exit(-EFAULT);
	CHECK(failed.action == ExitAction::Fault);
	CHECK(failed.diagnosis == "KVM_RUN failed: Bad address (errno 14)");
	CHECK(b.stats().guestExits == 0);
}

TEST_CASE("an unknown exit reason faults and is counted as other")
{
	Bench b;
	b.reason(999);
	ExitOutcome outcome = b.exit();
	CHECK(outcome.action == ExitAction::Fault);
	CHECK(outcome.diagnosis == "unhandled exit reason 999");
	CHECK(b.stats().other == 1);
	CHECK(b.stats().guestExits == 1);
}
