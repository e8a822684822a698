// Where guests' serial output goes: whole lines, in the order they were
// completed, with bounded memory.
//
// Each VM's bytes collect in its own line buffer; a line is written when
// its '\n' arrives. With several VMs each line is prefixed with the VM's
// name (as docker compose does), so lines printed byte by byte across many
// time slices still come out whole and never interleave. A partial line is
// shown early only when waiting longer would hide or hold it: the VM
// parks, halts or faults (flush(): a prompt appears before the guest waits
// for input), the line reaches kMaxLine bytes, no byte has come for
// kMaxLineIdle, or its first byte is kMaxLineAge old. So a line still being
// printed stays whole for up to kMaxLineAge however slowly the host runs
// the guest, and one that stalls (progress dots) shows after kMaxLineIdle.
// When another VM's line comes before the rest of a shown part, the shown
// part is ended and the rest continues on a new line marked "name + "
// instead of "name | ", so a reader sees the split.
//
// Everything goes through a bounded OutputQueue: the console holds at most
// kMaxLine bytes per VM plus the queue, whatever the guests print. While
// the queue is full (a slow reader) or stdout is closed, acceptsOutput()
// is false and the VM that writes should park (Serial returns Blocked).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/Clock.h"
#include "host/OutputQueue.h"

namespace quanta {

class Console {
public:
	// A partial line longer than this is written without waiting for '\n'.
	static constexpr std::size_t kMaxLine = 4096;
	// ... and so is a partial line that has not grown for this long ...
	static constexpr Nanos kMaxLineIdle = 250'000'000;
	// ... or whose first byte is this old.
	static constexpr Nanos kMaxLineAge = 1'000'000'000;

	// fd: where output goes (stdout). prefix: put "name | " before lines
	// when there are several VMs. mode: Blocking writes through at once;
	// NonBlocking needs someone to call onWritable() when fd is writable.
	Console(int fd, bool prefix, OutputQueue::Mode mode = OutputQueue::Mode::Blocking,
		std::function<Nanos()> clock = monotonicNow);
	// Writes what stderr takes now of quanta's queued lines (an error
	// ended the run early).
	~Console();
	Console(const Console &) = delete;
	Console &operator=(const Console &) = delete;

	// Registers a VM and returns its id; names are padded to align.
	std::size_t addVm(std::string name);

	// False while the output queue is full or stdout is closed: a writer
	// should wait (park) and retry once drained() (or stop if closed()).
	bool acceptsOutput() const { return queue_.acceptsMore(); }
	void write(std::size_t vm, std::uint8_t byte);
	void write(std::size_t vm, std::string_view text);
	// Writes the VM's partial line, if any, now: it parks, halts, faults
	// or the run ends (a later byte continues the line).
	void flush(std::size_t vm);
	void flushAll();
	// Writes partial lines idle for kMaxLineIdle or kMaxLineAge old.
	void flushStale();
	// When the oldest partial line becomes stale, if there is one.
	std::optional<Nanos> staleDeadline() const;

	// stdout, for the run loop: watch outputFd() for writability while
	// outputWaiting(), and call onWritable() when it is.
	int outputFd() const { return queue_.fd(); }
	bool outputWaiting() const { return !queue_.closed() && queue_.queued() > 0; }
	std::size_t queuedBytes() const { return queue_.queued(); }
	void onWritable();
	// The queue has drained enough for parked writers to go on.
	bool drained() const { return queue_.closed() || queue_.drained(); }
	// The reader went away (or writing failed otherwise): output is lost.
	bool closed() const { return queue_.closed(); }
	int closeError() const { return queue_.closeError(); }
	std::uint64_t droppedBytes() const { return queue_.dropped(); }
	// Bytes of memory held for output: line buffers and the queue.
	std::size_t heldBytes() const;

	// quanta's own lines during a run (a VM's stop line, a diagnosis) on
	// stderr. After useDiagnosticsQueue() they go through a second bounded,
	// non-blocking queue, so a stderr pipe nobody reads never blocks the
	// loop either: watch diagnosticsFd() while diagnosticsWaiting() and
	// call onDiagnosticsWritable(); past the queue's hard limit lines are
	// dropped and counted. Without it they are written at once.
	void useDiagnosticsQueue(int fd);
	void diagnostic(std::string_view line);
	int diagnosticsFd() const { return diagnostics_ ? diagnostics_->fd() : -1; }
	bool diagnosticsWaiting() const
	{
		return diagnostics_ && !diagnostics_->closed() && diagnostics_->queued() > 0;
	}
	void onDiagnosticsWritable();
	// After the run: writes what is queued, waiting for the reader when
	// wait is true (a signal ends the wait), else only what fits now.
	// Returns the bytes that never reached stderr.
	std::uint64_t finishDiagnostics(bool wait);

	// Something else shares the terminal (the live status line): the hook
	// runs before any output, guest or quanta's own, so it can step aside.
	void setBeforeOutput(std::function<void()> hook) { beforeOutput_ = std::move(hook); }
	void beforeOutput() const
	{
		if (beforeOutput_)
			beforeOutput_();
	}

private:
	struct Stream {
		std::string name;
		std::string pending;    // the line so far, not yet written
		Nanos pendingSince = 0; // when its first byte came
		Nanos lastByteAt = 0;   // when its last byte came
		bool shown = false;     // part of the current line is on screen, unended
		bool split = false;     // another VM's line ended our shown part
	};

	void emit(std::size_t vm, bool endOfLine);
	void push();
	static Nanos staleAt(const Stream &stream)
	{
		return std::min(stream.lastByteAt + kMaxLineIdle, stream.pendingSince + kMaxLineAge);
	}
	bool prefixed() const { return prefix_ && streams_.size() > 1; }

	bool prefix_;
	OutputQueue queue_;
	std::optional<OutputQueue> diagnostics_;
	std::function<Nanos()> clock_;
	std::size_t nameWidth_ = 0;
	std::vector<Stream> streams_;
	std::size_t lastWriter_ = SIZE_MAX; // whose unended partial line is on screen
	std::function<void()> beforeOutput_;
};

} // namespace quanta
