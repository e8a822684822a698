// The live status line: on a terminal, one line on stderr, redrawn a few
// times a second, with the elapsed time, each VM's share of guest time so
// far against its target, and exits per second. Nothing at all when stderr
// is not a terminal (logs and pipes stay clean) or with --no-status.
//
// It is an ev_timer in the run loop, so it is drawn between slices (every
// 10 ms or so) and costs nothing inside them. Guest output and quanta's
// messages share the terminal: whoever writes calls clear() first (through
// Console's before-output hook), and the next tick draws the line again.
#pragma once

#include <cstdint>
#include <ev.h>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sched/Policy.h"

namespace quanta::trace {

struct StatusSample {
	Nanos now = 0;
	std::vector<Nanos> ranNs; // per VM: guest time so far
	std::uint64_t exits = 0;  // KVM_RUN returns so far, all VMs
};

struct StatusVm {
	std::string name;
	double targetShare = 0.0;
};

class StatusLine {
public:
	using Sampler = std::function<StatusSample()>;

	static constexpr double kPeriodSeconds = 0.25;

	// Whether to show one: fd is a terminal and it was not turned off.
	static bool wanted(int fd, bool disabled);

	// Starts the timer; the first line appears after one period.
	StatusLine(struct ev_loop *loop, int fd, std::vector<StatusVm> vms, Nanos start, Sampler sampler);
	~StatusLine();
	StatusLine(const StatusLine &) = delete;
	StatusLine &operator=(const StatusLine &) = delete;

	// Erases the line if it is on screen, so other output starts clean.
	void clear();

	// "quanta 1.2 s | Neo 69.9%/70% | Morpheus 30.1%/30% | 41.2k exits/s"
	// (achieved share so far / target),
	// cut to width columns. previous: the sample one period ago, if any.
	static std::string format(const std::vector<StatusVm> &vms, Nanos start, const StatusSample &now,
				  const StatusSample *previous, std::size_t width);

private:
	static void onTimer(struct ev_loop *loop, ev_timer *watcher, int events);
	void draw();
	std::size_t columns() const;

	struct ev_loop *loop_;
	int fd_;
	std::vector<StatusVm> vms_;
	Nanos start_;
	Sampler sampler_;
	ev_timer timer_;
	std::optional<StatusSample> previous_;
	bool shown_ = false;
};

} // namespace quanta::trace
