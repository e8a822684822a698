#include "base/Parse.h"

#include <charconv>
#include <cmath>
#include <string>

namespace quanta {

std::optional<std::uint64_t> parseUnsigned(std::string_view text)
{
	int base = 10;
	if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		text.remove_prefix(2);
	}
	if (text.empty())
		return std::nullopt;
	std::uint64_t value = 0;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
	if (ec != std::errc() || end != text.data() + text.size())
		return std::nullopt;
	return value;
}

std::optional<std::int64_t> parseDuration(std::string_view text)
{
	auto nanos = parseDurationValue(text);
	if (!nanos || *nanos < 1 || *nanos > 1e18)
		return std::nullopt;
	return static_cast<std::int64_t>(std::llround(*nanos));
}

std::optional<double> parseDurationValue(std::string_view text)
{
	struct Unit {
		std::string_view suffix;
		double nanos;
	};
	// Longest suffixes first so "ms" is not read as "s".
	static constexpr Unit units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	for (const Unit &unit : units) {
		if (text.size() <= unit.suffix.size() || !text.ends_with(unit.suffix))
			continue;
		std::string number(text.substr(0, text.size() - unit.suffix.size()));
		double value = 0;
		auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
		if (ec != std::errc() || end != number.data() + number.size())
			return std::nullopt;
		double nanos = value * unit.nanos;
		if (!std::isfinite(nanos))
			return std::nullopt;
		return nanos;
	}
	return std::nullopt;
}

} // namespace quanta
