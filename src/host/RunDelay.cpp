#include "host/RunDelay.h"

#include <charconv>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace quanta {

RunDelay::RunDelay()
	: fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC))
{
	if (available() && !readFile())
		fd_ = UniqueFd();
}

std::optional<Nanos> RunDelay::read()
{
	if (!available())
		return std::nullopt;
	// The switch count first: a switch after it makes the next read see a
	// new count, so no delay is ever left in the cache.
	rusage usage{};
	if (::getrusage(RUSAGE_THREAD, &usage) != 0)
		return readFile();
	const long switches = usage.ru_nvcsw + usage.ru_nivcsw;
	if (last_ && switches == switchesAtLast_)
		return last_;
	last_ = readFile();
	switchesAtLast_ = switches;
	return last_;
}

std::optional<Nanos> RunDelay::readFile() const
{
	if (!available())
		return std::nullopt;
	char text[96];
	const ssize_t n = ::pread(fd_.get(), text, sizeof(text), 0);
	if (n <= 0)
		return std::nullopt;
	return parseRunDelay(std::string_view(text, static_cast<std::size_t>(n)));
}

std::optional<Nanos> parseRunDelay(std::string_view schedstat)
{
	std::size_t space = schedstat.find(' ');
	if (space == std::string_view::npos)
		return std::nullopt;
	const char *begin = schedstat.data() + space + 1;
	const char *end = schedstat.data() + schedstat.size();
	unsigned long long value = 0;
	auto [ptr, error] = std::from_chars(begin, end, value);
	if (error != std::errc() || ptr == begin || (ptr != end && *ptr != ' ' && *ptr != '\n'))
		return std::nullopt;
	return static_cast<Nanos>(value);
}

} // namespace quanta
