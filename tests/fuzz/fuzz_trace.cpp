// The trace reader (quanta plot FILE): any text; then what the reader
// accepted is written back out as JSON and CSV and totalled.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/Error.h"
#include "trace/ChromeTrace.h"
#include "trace/Trace.h"

using namespace quanta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	try {
		trace::TraceData trace =
			trace::readChromeTrace(std::string_view(reinterpret_cast<const char *>(data), size));
		trace::totalsByVm(trace);
		trace::chromeTraceJson(trace);
		trace::traceCsv(trace);
	} catch (const UsageError &) {
	}
	return 0;
}
