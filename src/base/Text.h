// Guest-controlled text in quanta's own diagnostics: a guest must not be
// able to forge a line ("quanta: Morpheus: stopped: ...") or send terminal
// escapes through a file name, nor flood stderr with one warning per bad
// byte. escapeForLog() makes any bytes one short printable token;
// WarningLimiter lets a burst of each kind of warning through per window
// and counts the rest ("... 12,345 more like this").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quanta {

// Printable ASCII stays as it is (a backslash becomes "\\"); every other
// byte (control bytes, DEL, bytes >= 0x80) becomes \xNN. At most maxBytes
// input bytes are shown; a longer text ends in "...".
std::string escapeForLog(std::string_view bytes, std::size_t maxBytes = 64);

// Text as SVG/XML character data or attribute value: &, <, >, " escaped;
// control characters (not allowed in XML 1.0) other than tab dropped.
std::string escapeXml(std::string_view text);

// 12345 -> "12,345".
std::string groupThousands(std::uint64_t value);

// What makes two warnings "alike" for WarningLimiter: the line without its
// quoted parts ('...', where guest names go) and with each run of digits
// as one '#', capped at 80 bytes.
std::string warningKind(std::string_view line);

// Pure and time-injected: the caller passes its clock reading.
class WarningLimiter {
public:
	// burst lines of one kind per window of windowNs pass; the rest are
	// counted and reported as one line when the window has ended (at the
	// next warning of that kind) or at flush().
	WarningLimiter(unsigned burst = 5, std::int64_t windowNs = 1'000'000'000);

	// The lines to print now for one warning of `kind` (often empty, at
	// most two: a count of what was held back, then this line).
	std::vector<std::string> admit(std::string_view kind, std::string line, std::int64_t nowNs);
	// Counts still held back, one line per kind (e.g. when the VM stops).
	std::vector<std::string> flush();

	static std::string heldBackLine(std::string_view kind, std::uint64_t count);

private:
	struct Kind {
		std::int64_t windowStart = 0;
		unsigned shown = 0;
		std::uint64_t held = 0;
	};
	unsigned burst_;
	std::int64_t windowNs_;
	std::map<std::string, Kind, std::less<>> kinds_;
	// Past this many kinds, new ones share one entry: memory stays bounded.
	static constexpr std::size_t kMaxKinds = 64;
};

} // namespace quanta
