// Parsing of numbers and units given on the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace quanta {

// Decimal, or hex with 0x. Whole string must be a number.
std::optional<std::uint64_t> parseUnsigned(std::string_view text);

// A duration with a unit: "10ms", "250us", "2s", "1.5s", "100ns".
// Returns nanoseconds; nullopt if malformed, no unit, or not positive.
std::optional<std::int64_t> parseDuration(std::string_view text);

// The same, but any finite value (zero, negative, huge) is returned, so a
// caller can say what is wrong with it; nullopt only if malformed.
std::optional<double> parseDurationValue(std::string_view text);

} // namespace quanta
