// The console: whole lines, flush rules, the split marker, bounded memory,
// and the output queue in front of a slow, full or closed stdout.
#include <cerrno>
#include <csignal>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "devices/Serial.h"
#include "host/Console.h"
#include "host/Input.h"
#include "host/OutputQueue.h"

using namespace quanta;

namespace {

struct Pipe {
	int fds[2];
	Pipe() { REQUIRE(::pipe(fds) == 0); }
	~Pipe()
	{
		closeRead();
		closeWrite();
	}
	void closeRead()
	{
		if (fds[0] >= 0)
			::close(fds[0]);
		fds[0] = -1;
	}
	void closeWrite()
	{
		if (fds[1] >= 0)
			::close(fds[1]);
		fds[1] = -1;
	}
	// Everything written so far (the write end stays open).
	std::string readNow()
	{
		int flags = ::fcntl(fds[0], F_GETFL);
		::fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
		std::string out;
		char buf[4096];
		ssize_t n;
		while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
			out.append(buf, static_cast<std::size_t>(n));
		::fcntl(fds[0], F_SETFL, flags);
		return out;
	}
};

// A clock the test moves by hand.
struct FakeClock {
	Nanos now = 1'000'000'000;
	std::function<Nanos()> fn()
	{
		return [this] { return now; };
	}
};

void put(Console &console, std::size_t vm, const std::string &text)
{
	console.write(vm, std::string_view(text));
}

// A pipe write end's O_NONBLOCK, which the shell shares with us.
bool nonBlocking(int fd)
{
	return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

} // namespace

TEST_CASE("lines printed byte by byte by two VMs come out whole, in the order they completed")
{
	Pipe pipe;
	FakeClock clock;
	Console console(pipe.fds[1], true, OutputQueue::Mode::Blocking, clock.fn());
	std::size_t a = console.addVm("A");
	std::size_t b = console.addVm("Bee");
	const std::string lineA = "line 1: abcdefghijklmnopqrstuvwxyz\n";
	const std::string lineB = "line 1: 0123456789\n";
	// Alternate byte by byte, as two VMs do with a 1 ms quantum.
	for (std::size_t i = 0; i < std::max(lineA.size(), lineB.size()); ++i) {
		if (i < lineA.size())
			console.write(a, static_cast<std::uint8_t>(lineA[i]));
		if (i < lineB.size())
			console.write(b, static_cast<std::uint8_t>(lineB[i]));
		clock.now += 1'000'000;
	}
	CHECK(pipe.readNow() == "Bee | line 1: 0123456789\n"
				"A   | line 1: abcdefghijklmnopqrstuvwxyz\n");
}

TEST_CASE("a partial line waits for its newline until the VM parks (a prompt shows before input)")
{
	Pipe pipe;
	FakeClock clock;
	Console console(pipe.fds[1], true, OutputQueue::Mode::Blocking, clock.fn());
	std::size_t a = console.addVm("a");
	std::size_t b = console.addVm("b");
	put(console, a, "Name? ");
	CHECK(pipe.readNow().empty());
	console.flush(a); // a parks waiting for input
	CHECK(pipe.readNow() == "a | Name? ");
	// The same VM goes on: the rest joins the shown part, no marker.
	put(console, a, "ok\n");
	put(console, b, "x\n");
	CHECK(pipe.readNow() == "ok\nb | x\n");
}

TEST_CASE("a shown part cut by another VM's line continues marked 'name + '")
{
	Pipe pipe;
	FakeClock clock;
	Console console(pipe.fds[1], true, OutputQueue::Mode::Blocking, clock.fn());
	std::size_t neo = console.addVm("Neo");
	std::size_t morpheus = console.addVm("Morpheus");
	put(console, neo, "one\ntw");
	console.flush(neo);
	put(console, morpheus, "red pill\n");
	put(console, neo, "o\nthree\n");
	CHECK(pipe.readNow() == "Neo      | one\n"
				"Neo      | tw\n"
				"Morpheus | red pill\n"
				"Neo      + o\n"
				"Neo      | three\n");
}

TEST_CASE("a cut partial line whose rest is only the newline leaves no empty line")
{
	Pipe pipe;
	Console console(pipe.fds[1], true);
	std::size_t a = console.addVm("a");
	std::size_t b = console.addVm("b");
	put(console, a, "x");
	console.flush(a);
	put(console, b, "y\n");
	put(console, a, "\nz\n");
	CHECK(pipe.readNow() == "a | x\nb | y\na | z\n");
}

TEST_CASE("a partial line that stops growing is shown after kMaxLineIdle (flushStale)")
{
	Pipe pipe;
	FakeClock clock;
	Console console(pipe.fds[1], true, OutputQueue::Mode::Blocking, clock.fn());
	std::size_t a = console.addVm("a");
	console.addVm("b");
	CHECK_FALSE(console.staleDeadline());
	put(console, a, "loading");
	REQUIRE(console.staleDeadline());
	CHECK(*console.staleDeadline() == clock.now + Console::kMaxLineIdle);
	clock.now += Console::kMaxLineIdle - 1;
	console.flushStale();
	put(console, a, "."); // still growing: the idle time starts again
	CHECK(*console.staleDeadline() == clock.now + Console::kMaxLineIdle);
	clock.now += Console::kMaxLineIdle - 1;
	console.flushStale();
	CHECK(pipe.readNow().empty());
	clock.now += 1;
	console.flushStale();
	CHECK(pipe.readNow() == "a | loading.");
	CHECK_FALSE(console.staleDeadline());
}

TEST_CASE("a partial line that keeps growing is shown when kMaxLineAge old")
{
	Pipe pipe;
	FakeClock clock;
	Console console(pipe.fds[1], true, OutputQueue::Mode::Blocking, clock.fn());
	std::size_t a = console.addVm("a");
	console.addVm("b");
	const Nanos step = Console::kMaxLineIdle / 2;
	const Nanos start = clock.now;
	std::string sent;
	while (clock.now - start < Console::kMaxLineAge - step) {
		put(console, a, "-");
		sent += "-";
		clock.now += step;
		console.flushStale();
	}
	CHECK(pipe.readNow().empty());
	CHECK(*console.staleDeadline() == start + Console::kMaxLineAge);
	clock.now = start + Console::kMaxLineAge;
	put(console, a, "!");
	CHECK(pipe.readNow() == "a | " + sent + "!");
}

TEST_CASE("a partial line of kMaxLine bytes is written without waiting for its newline")
{
	Pipe pipe;
	Console console(pipe.fds[1], true);
	std::size_t a = console.addVm("a");
	std::size_t b = console.addVm("b");
	put(console, a, std::string(Console::kMaxLine - 1, 'x'));
	CHECK(pipe.readNow().empty());
	put(console, a, "x");
	CHECK(pipe.readNow() == "a | " + std::string(Console::kMaxLine, 'x'));
	put(console, b, "b\n");
	put(console, a, "yz\n");
	CHECK(pipe.readNow() == "\nb | b\na + yz\n");
}

TEST_CASE("one VM (or no prefix) is written as is: no prefix, no marker, no added newline")
{
	Pipe pipe;
	Console console(pipe.fds[1], true);
	std::size_t solo = console.addVm("solo");
	put(console, solo, "hi\nthere");
	CHECK(pipe.readNow() == "hi\n");
	console.flushAll();
	CHECK(pipe.readNow() == "there");

	Pipe raw;
	Console unprefixed(raw.fds[1], false);
	std::size_t x = unprefixed.addVm("x");
	std::size_t y = unprefixed.addVm("y");
	put(unprefixed, x, "ab");
	put(unprefixed, y, "12\n");
	put(unprefixed, x, "c\n");
	CHECK(raw.readNow() == "12\nabc\n");
}

TEST_CASE("a lone VM printing without newline holds bounded memory (issue 12 A)")
{
	int devNull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
	REQUIRE(devNull >= 0);
	Console console(devNull, true, OutputQueue::Mode::NonBlocking);
	std::size_t vm = console.addVm("printer");
	const std::string chunk(64 * 1024, 'x');
	std::size_t most = 0;
	// 32 MiB without a newline: before, every byte stayed in memory.
	for (int i = 0; i < 512; ++i) {
		put(console, vm, chunk);
		most = std::max(most, console.heldBytes());
	}
	CHECK(most <= 2 * Console::kMaxLine + 2 * OutputQueue::kHardLimit);
	CHECK(most < 1024 * 1024);
	CHECK(console.droppedBytes() == 0);
	::close(devNull);
}

TEST_CASE("a full stdout nobody reads: the console stops taking output, memory stays bounded, nothing is lost")
{
	Pipe pipe;
	Console console(pipe.fds[1], true, OutputQueue::Mode::NonBlocking);
	NoInput input;
	std::size_t a = console.addVm("a");
	std::size_t b = console.addVm("b");
	Serial serialA(console, a, input);
	Serial serialB(console, b, input);
	CHECK_FALSE(nonBlocking(pipe.fds[1])); // the shared description is untouched

	const std::string line = std::string(99, 'z') + "\n";
	std::string expected;
	std::size_t accepted = 0;
	bool blocked = false;
	for (std::size_t i = 0; i < 10'000'000 && !blocked; ++i) {
		std::uint8_t byte = static_cast<std::uint8_t>(line[i % line.size()]);
		Serial &serial = (i / line.size()) % 2 ? serialB : serialA;
		IoStatus status = serial.portOut(0, { &byte, 1 });
		if (status == IoStatus::Blocked) {
			blocked = true;
			break;
		}
		REQUIRE(status == IoStatus::Done);
		++accepted;
	}
	REQUIRE(blocked); // a 64 KiB pipe plus a 64 KiB queue filled up
	CHECK_FALSE(console.acceptsOutput());
	CHECK(console.outputWaiting());
	CHECK(console.heldBytes() <= 2 * Console::kMaxLine + 2 * OutputQueue::kHardLimit);
	CHECK_FALSE(console.closed());

	// The reader catches up: the queue drains and writers may go on.
	std::string got;
	for (int round = 0; round < 100 && console.outputWaiting(); ++round) {
		got += pipe.readNow();
		console.onWritable();
	}
	got += pipe.readNow();
	CHECK(console.drained());
	CHECK(console.acceptsOutput());
	CHECK(console.droppedBytes() == 0);
	// Every complete line arrived whole, each prefixed, none lost.
	std::size_t lines = accepted / line.size();
	CHECK(got.size() == lines * (line.size() + 4));
	for (std::size_t i = 0; i < lines; ++i) {
		std::string want = std::string(i % 2 ? "b" : "a") + " | " + line;
		CHECK(got.compare(i * want.size(), want.size(), want) == 0);
	}
}

TEST_CASE("a closed stdout (EPIPE) closes the console: output is dropped and counted, writers stop")
{
	std::signal(SIGPIPE, SIG_IGN); // as quanta does
	Pipe pipe;
	Console console(pipe.fds[1], false, OutputQueue::Mode::NonBlocking);
	NoInput input;
	std::size_t vm = console.addVm("vm");
	Serial serial(console, vm, input);
	pipe.closeRead();
	put(console, vm, "first line\n");
	CHECK(console.closed());
	CHECK(console.closeError() == EPIPE);
	CHECK(console.droppedBytes() == 11);
	CHECK_FALSE(console.acceptsOutput());
	CHECK_FALSE(console.outputWaiting());
	std::uint8_t byte = 'x';
	CHECK(serial.portOut(0, { &byte, 1 }) == IoStatus::Blocked);
}

TEST_CASE("the output queue keeps at most kHardLimit bytes, whatever a writer does")
{
	Pipe pipe;
	OutputQueue queue(pipe.fds[1], OutputQueue::Mode::NonBlocking);
	const std::string block(OutputQueue::kHighWater, 'q');
	std::size_t appended = 0;
	for (int i = 0; i < 64; ++i) {
		queue.append(block);
		appended += block.size();
	}
	CHECK(queue.queued() == OutputQueue::kHardLimit);
	std::string got = pipe.readNow();
	CHECK(queue.dropped() == appended - got.size() - queue.queued());
	CHECK(queue.dropped() > 0);
	CHECK(queue.capacity() <= 2 * OutputQueue::kHardLimit);
}

TEST_CASE("a regular file is written through at once")
{
	char path[] = "/tmp/quanta-console-XXXXXX";
	int fd = ::mkstemp(path);
	REQUIRE(fd >= 0);
	::unlink(path);
	OutputQueue queue(fd, OutputQueue::Mode::NonBlocking);
	queue.append(std::string(300'000, 'f'));
	CHECK(queue.queued() == 0);
	CHECK(::lseek(fd, 0, SEEK_CUR) == 300'000);
	::close(fd);
}

TEST_CASE("quanta's own lines on a full stderr nobody reads: queued, never blocking, written once it drains")
{
	Pipe pipe;
	// Fill the pipe as a stuck reader leaves it.
	int flags = ::fcntl(pipe.fds[1], F_GETFL);
	::fcntl(pipe.fds[1], F_SETFL, flags | O_NONBLOCK);
	std::string chunk(4096, 'x');
	std::size_t filled = 0;
	for (ssize_t n; (n = ::write(pipe.fds[1], chunk.data(), chunk.size())) > 0;)
		filled += static_cast<std::size_t>(n);
	for (ssize_t n; (n = ::write(pipe.fds[1], "x", 1)) > 0;)
		filled += static_cast<std::size_t>(n);
	::fcntl(pipe.fds[1], F_SETFL, flags);
	REQUIRE(filled > 0);

	Pipe out;
	Console console(out.fds[1], false);
	console.useDiagnosticsQueue(pipe.fds[1]);
	CHECK_FALSE(nonBlocking(pipe.fds[1])); // the shared description stays blocking
	// Would block forever if written straight through.
	console.diagnostic("quanta: a: stopped: one\n");
	console.diagnostic("quanta: b: stopped: two\n");
	CHECK(console.diagnosticsWaiting());
	CHECK(console.diagnosticsFd() >= 0);
	CHECK(console.finishDiagnostics(false) == 48); // after a signal: not waited for

	// The reader catches up: what was queued follows in order.
	std::string seen = pipe.readNow();
	CHECK(seen.size() == filled);
	console.onDiagnosticsWritable();
	CHECK_FALSE(console.diagnosticsWaiting());
	CHECK(pipe.readNow() == "quanta: a: stopped: one\nquanta: b: stopped: two\n");
	CHECK(console.finishDiagnostics(true) == 0);
}
