#include "trace/StatusLine.h"

#include <cerrno>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace quanta::trace {

namespace {

void writeAll(int fd, const std::string &text)
{
	const char *data = text.data();
	std::size_t left = text.size();
	while (left > 0) {
		ssize_t n = ::write(fd, data, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; // the terminal went away: the run does not care
		}
		data += n;
		left -= static_cast<std::size_t>(n);
	}
}

std::string rate(double perSecond)
{
	if (perSecond >= 1e6)
		return fmt::format("{:.1f}M", perSecond / 1e6);
	if (perSecond >= 1e3)
		return fmt::format("{:.1f}k", perSecond / 1e3);
	return fmt::format("{:.0f}", perSecond);
}

// "\r" returns to column 0, "\033[K" erases to the end of the line.
constexpr const char *kClear = "\r\033[K";

} // namespace

bool StatusLine::wanted(int fd, bool disabled)
{
	return !disabled && ::isatty(fd) == 1;
}

StatusLine::StatusLine(struct ev_loop *loop, int fd, std::vector<StatusVm> vms, Nanos start, Sampler sampler)
	: loop_(loop), fd_(fd), vms_(std::move(vms)), start_(start), sampler_(std::move(sampler))
{
	ev_timer_init(&timer_, onTimer, kPeriodSeconds, kPeriodSeconds);
	timer_.data = this;
	ev_timer_start(loop_, &timer_);
}

StatusLine::~StatusLine()
{
	ev_timer_stop(loop_, &timer_);
	clear();
}

void StatusLine::clear()
{
	if (!shown_)
		return;
	writeAll(fd_, kClear);
	shown_ = false;
}

void StatusLine::onTimer(struct ev_loop *, ev_timer *watcher, int)
{
	static_cast<StatusLine *>(watcher->data)->draw();
}

std::size_t StatusLine::columns() const
{
	winsize size{};
	if (::ioctl(fd_, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
		return size.ws_col;
	return 80;
}

void StatusLine::draw()
{
	StatusSample now = sampler_();
	// One column short of the width: a full line would wrap on some
	// terminals, and \r would then return to the wrong line.
	std::size_t width = columns();
	std::string line = format(vms_, start_, now, previous_ ? &*previous_ : nullptr, width > 1 ? width - 1 : width);
	writeAll(fd_, kClear + line);
	shown_ = true;
	previous_ = std::move(now);
}

std::string StatusLine::format(const std::vector<StatusVm> &vms, Nanos start, const StatusSample &now,
			       const StatusSample *previous, std::size_t width)
{
	std::string line = fmt::format("quanta {:.1f} s", static_cast<double>(now.now - start) / 1e9);
	Nanos total = 0;
	for (Nanos ran : now.ranNs)
		total += ran;
	for (std::size_t i = 0; i < vms.size() && i < now.ranNs.size(); ++i) {
		double share = total > 0 ? 100.0 * static_cast<double>(now.ranNs[i]) / static_cast<double>(total) : 0.0;
		line += fmt::format(" | {} {:.1f}%/{:g}%", vms[i].name, share, vms[i].targetShare * 100);
	}
	if (previous && now.now > previous->now) {
		double seconds = static_cast<double>(now.now - previous->now) / 1e9;
		line += fmt::format(" | {} exits/s", rate(static_cast<double>(now.exits - previous->exits) / seconds));
	}
	if (line.size() > width)
		line.resize(width);
	return line;
}

} // namespace quanta::trace
