#include "host/Console.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <poll.h>

namespace quanta {

Console::Console(int fd, bool prefix, OutputQueue::Mode mode, std::function<Nanos()> clock)
	: prefix_(prefix), queue_(fd, mode), clock_(std::move(clock))
{
}

Console::~Console()
{
	if (diagnostics_)
		diagnostics_->writeSome();
}

std::size_t Console::addVm(std::string name)
{
	nameWidth_ = std::max(nameWidth_, name.size());
	Stream stream;
	stream.name = std::move(name);
	stream.pending.reserve(kMaxLine);
	streams_.push_back(std::move(stream));
	return streams_.size() - 1;
}

void Console::write(std::size_t vm, std::uint8_t byte)
{
	char c = static_cast<char>(byte);
	write(vm, std::string_view(&c, 1));
}

void Console::write(std::size_t vm, std::string_view text)
{
	Stream &stream = streams_[vm];
	const Nanos now = clock_();
	while (!text.empty()) {
		if (stream.pending.empty())
			stream.pendingSince = now;
		stream.lastByteAt = now;
		std::size_t take = std::min(kMaxLine - stream.pending.size(), text.size());
		const void *newline = std::memchr(text.data(), '\n', take);
		if (newline)
			take = static_cast<std::size_t>(static_cast<const char *>(newline) - text.data()) + 1;
		stream.pending.append(text.data(), take);
		text.remove_prefix(take);
		if (newline)
			emit(vm, true);
		else if (stream.pending.size() >= kMaxLine || now - stream.pendingSince >= kMaxLineAge)
			emit(vm, false);
	}
	push();
}

void Console::flush(std::size_t vm)
{
	if (!streams_[vm].pending.empty())
		emit(vm, false);
	push();
}

void Console::flushAll()
{
	for (std::size_t i = 0; i < streams_.size(); ++i)
		if (!streams_[i].pending.empty())
			emit(i, false);
	push();
}

void Console::flushStale()
{
	Nanos now = clock_();
	for (std::size_t i = 0; i < streams_.size(); ++i)
		if (!streams_[i].pending.empty() && now >= staleAt(streams_[i]))
			emit(i, false);
	push();
}

std::optional<Nanos> Console::staleDeadline() const
{
	std::optional<Nanos> first;
	for (const Stream &stream : streams_)
		if (!stream.pending.empty())
			first = std::min(first.value_or(staleAt(stream)), staleAt(stream));
	return first;
}

void Console::emit(std::size_t vm, bool endOfLine)
{
	Stream &stream = streams_[vm];
	const bool multi = prefixed();
	// Our shown part was already ended by another VM's line: a lone
	// newline completing it would only print an empty continuation.
	if (multi && stream.split && stream.pending == "\n") {
		stream.pending.clear();
		stream.split = false;
		return;
	}
	// Another VM's partial line is on screen: end it before ours starts.
	if (lastWriter_ != SIZE_MAX && lastWriter_ != vm && streams_[lastWriter_].shown) {
		Stream &cut = streams_[lastWriter_];
		if (multi) {
			queue_.enqueue("\n");
			cut.split = true;
		}
		cut.shown = false;
	}
	if (multi && !stream.shown) {
		std::string prefix = stream.name;
		prefix.append(nameWidth_ - stream.name.size(), ' ');
		prefix += stream.split ? " + " : " | ";
		queue_.enqueue(prefix);
	}
	queue_.enqueue(stream.pending);
	stream.pending.clear();
	stream.shown = !endOfLine;
	if (endOfLine)
		stream.split = false;
	lastWriter_ = vm;
}

// Writes what emit() queued: one write(2) for everything one call printed.
void Console::push()
{
	if (queue_.closed() || queue_.queued() == 0)
		return;
	beforeOutput();
	queue_.writeSome();
}

void Console::onWritable()
{
	if (queue_.queued() > 0)
		beforeOutput();
	queue_.writeSome();
}

void Console::useDiagnosticsQueue(int fd)
{
	diagnostics_.emplace(fd, OutputQueue::Mode::NonBlocking);
}

void Console::diagnostic(std::string_view line)
{
	beforeOutput();
	if (diagnostics_)
		diagnostics_->append(line);
	else
		std::fwrite(line.data(), 1, line.size(), stderr);
}

void Console::onDiagnosticsWritable()
{
	if (diagnostics_ && diagnostics_->queued() > 0) {
		beforeOutput();
		diagnostics_->writeSome();
	}
}

std::uint64_t Console::finishDiagnostics(bool wait)
{
	if (!diagnostics_)
		return 0;
	diagnostics_->writeSome();
	// SIGINT and SIGTERM, blocked for the run loop, are let through while
	// waiting: they end the wait (and, with their default action, quanta)
	// instead of being held back. Other signals (the slice timer's) stay
	// blocked.
	sigset_t mask;
	::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	while (wait && diagnosticsWaiting()) {
		pollfd writable{ diagnostics_->fd(), POLLOUT, 0 };
		if (::ppoll(&writable, 1, nullptr, &mask) < 0)
			break;
		diagnostics_->writeSome();
	}
	return diagnostics_->dropped() + diagnostics_->queued();
}

std::size_t Console::heldBytes() const
{
	std::size_t held = queue_.capacity();
	for (const Stream &stream : streams_)
		held += stream.pending.capacity();
	return held;
}

} // namespace quanta
