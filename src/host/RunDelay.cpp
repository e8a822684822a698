#include "host/RunDelay.h"

#include <charconv>
#include <fcntl.h>
#include <unistd.h>

namespace quanta {

RunDelay::RunDelay()
	: fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC))
{
	if (available() && !read())
		fd_ = UniqueFd();
}

std::optional<Nanos> RunDelay::read() const
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
