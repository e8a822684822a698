#include "base/Text.h"

#include <fmt/format.h>

namespace quanta {

std::string escapeForLog(std::string_view bytes, std::size_t maxBytes)
{
	std::string out;
	std::size_t shown = std::min(bytes.size(), maxBytes);
	out.reserve(shown + 3);
	for (std::size_t i = 0; i < shown; ++i) {
		auto c = static_cast<unsigned char>(bytes[i]);
		if (c == '\\')
			out += "\\\\";
		else if (c >= 0x20 && c < 0x7f)
			out += static_cast<char>(c);
		else
			out += fmt::format("\\x{:02x}", c);
	}
	if (bytes.size() > shown)
		out += "...";
	return out;
}

std::string groupThousands(std::uint64_t value)
{
	std::string digits = std::to_string(value);
	std::string out;
	for (std::size_t i = 0; i < digits.size(); ++i) {
		if (i > 0 && (digits.size() - i) % 3 == 0)
			out += ',';
		out += digits[i];
	}
	return out;
}

std::string warningKind(std::string_view line)
{
	std::string kind;
	bool quoted = false;
	for (char c : line) {
		if (c == '\'') {
			quoted = !quoted;
			kind += c;
		} else if (quoted) {
			continue;
		} else if (c >= '0' && c <= '9') {
			if (kind.empty() || kind.back() != '#')
				kind += '#';
		} else {
			kind += c;
		}
		if (kind.size() >= 80)
			break;
	}
	return kind;
}

WarningLimiter::WarningLimiter(unsigned burst, std::int64_t windowNs)
	: burst_(burst), windowNs_(windowNs)
{
}

std::string WarningLimiter::heldBackLine(std::string_view kind, std::uint64_t count)
{
	return fmt::format("{} ... {} more like this", kind, groupThousands(count));
}

std::vector<std::string> WarningLimiter::admit(std::string_view kind, std::string line, std::int64_t nowNs)
{
	std::vector<std::string> out;
	if (kinds_.size() >= kMaxKinds && kinds_.find(kind) == kinds_.end())
		kind = "(other warnings)";
	auto it = kinds_.find(kind);
	if (it == kinds_.end())
		it = kinds_.emplace(std::string(kind), Kind{ nowNs, 0, 0 }).first;
	Kind &k = it->second;
	// Unsigned difference once now >= start: no clock reading can overflow.
	if (nowNs < k.windowStart ||
	    static_cast<std::uint64_t>(nowNs) - static_cast<std::uint64_t>(k.windowStart) >=
		    static_cast<std::uint64_t>(windowNs_)) {
		if (k.held > 0)
			out.push_back(heldBackLine(kind, k.held));
		k = Kind{ nowNs, 0, 0 };
	}
	if (k.shown < burst_) {
		++k.shown;
		out.push_back(std::move(line));
	} else {
		++k.held;
	}
	return out;
}

std::vector<std::string> WarningLimiter::flush()
{
	std::vector<std::string> out;
	for (auto &[kind, k] : kinds_) {
		if (k.held > 0)
			out.push_back(heldBackLine(kind, k.held));
		k.held = 0;
	}
	return out;
}

std::string escapeXml(std::string_view text)
{
	std::string out;
	for (char c : text) {
		switch (c) {
		case '&':
			out += "&amp;";
			break;
		case '<':
			out += "&lt;";
			break;
		case '>':
			out += "&gt;";
			break;
		case '"':
			out += "&quot;";
			break;
		default:
			if (static_cast<unsigned char>(c) >= 0x20 || c == '\t')
				out += c;
		}
	}
	return out;
}

} // namespace quanta
