#include <cstdio>
#include <doctest/doctest.h>
#include <string>
#include <unistd.h>

#include "devices/Serial.h"
#include "host/Console.h"
#include "host/Input.h"

using namespace quanta;

namespace {

// A pipe that captures what the console writes.
struct Capture {
	int fds[2];
	Capture() { REQUIRE(::pipe(fds) == 0); }
	~Capture()
	{
		::close(fds[0]);
		if (fds[1] >= 0)
			::close(fds[1]);
	}
	std::string drain()
	{
		::close(fds[1]);
		fds[1] = -1;
		std::string out;
		char buf[256];
		ssize_t n;
		while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
			out.append(buf, static_cast<std::size_t>(n));
		return out;
	}
};

class ScriptedInput : public InputSource {
public:
	explicit ScriptedInput(std::string text)
		: text_(std::move(text)) {}
	InputByte next() override
	{
		if (empty_) {
			empty_ = false;
			return { InputByte::State::Empty };
		}
		if (pos_ == text_.size())
			return { InputByte::State::End };
		return { InputByte::State::Byte, static_cast<std::uint8_t>(text_[pos_++]) };
	}
	bool empty_ = false;

private:
	std::string text_;
	std::size_t pos_ = 0;
};

void out(Serial &serial, char c)
{
	std::uint8_t byte = static_cast<std::uint8_t>(c);
	REQUIRE(serial.portOut(0, { &byte, 1 }) == IoStatus::Done);
}

} // namespace

TEST_CASE("serial OUT writes bytes; a single VM gets no prefix")
{
	Capture capture;
	Console console(capture.fds[1], true);
	ScriptedInput input("");
	Serial serial(console, console.addVm("solo"), input);
	for (char c : std::string("hi\nthere"))
		out(serial, c);
	console.flushAll();
	CHECK(capture.drain() == "hi\nthere");
}

TEST_CASE("serial IN returns input bytes, parks when empty, 0xFF at the end")
{
	Capture capture;
	Console console(capture.fds[1], true);
	ScriptedInput input("a");
	Serial serial(console, console.addVm("vm"), input);
	std::uint8_t byte = 0;
	input.empty_ = true;
	CHECK(serial.portIn(0, { &byte, 1 }) == IoStatus::Blocked);
	CHECK(serial.portIn(0, { &byte, 1 }) == IoStatus::Done);
	CHECK(byte == 'a');
	CHECK(serial.portIn(0, { &byte, 1 }) == IoStatus::Done);
	CHECK(byte == 0xff);
}

TEST_CASE("serial rejects accesses wider than a byte")
{
	Capture capture;
	Console console(capture.fds[1], true);
	ScriptedInput input("");
	Serial serial(console, console.addVm("vm"), input);
	std::uint8_t word[4] = {};
	CHECK(serial.portOut(0, { word, 4 }) == IoStatus::Error);
	CHECK(serial.lastError().find("4 bytes") != std::string::npos);
	CHECK(serial.portIn(0, { word, 2 }) == IoStatus::Error);
}

TEST_CASE("several VMs: lines prefixed with aligned names, partial lines kept apart")
{
	Capture capture;
	Console console(capture.fds[1], true);
	ScriptedInput input("");
	Serial neo(console, console.addVm("Neo"), input);
	Serial morpheus(console, console.addVm("Morpheus"), input);
	for (char c : std::string("one\ntw"))
		out(neo, c);
	console.flush(0);
	for (char c : std::string("red pill\n"))
		out(morpheus, c);
	for (char c : std::string("o\n"))
		out(neo, c);
	CHECK(capture.drain() == "Neo      | one\n"
				 "Neo      | tw\n"
				 "Morpheus | red pill\n"
				 "Neo      + o\n");
}

TEST_CASE("prefixing can be turned off")
{
	Capture capture;
	Console console(capture.fds[1], false);
	ScriptedInput input("");
	Serial a(console, console.addVm("a"), input);
	Serial b(console, console.addVm("b"), input);
	out(a, 'x');
	out(a, '\n');
	out(b, 'y');
	out(b, '\n');
	CHECK(capture.drain() == "x\ny\n");
}

TEST_CASE("a partial line ended by another VM does not leave an empty line behind")
{
	Capture capture;
	Console console(capture.fds[1], true);
	ScriptedInput input("");
	Serial a(console, console.addVm("a"), input);
	Serial b(console, console.addVm("b"), input);
	out(a, 'x');
	console.flush(0);
	out(b, 'y');
	out(b, '\n');
	out(a, '\n');
	out(a, 'z');
	out(a, '\n');
	CHECK(capture.drain() == "a | x\nb | y\na | z\n");
}
