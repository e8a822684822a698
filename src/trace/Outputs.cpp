#include "trace/Outputs.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "trace/ChromeTrace.h"
#include "trace/Plot.h"

namespace quanta::trace {

bool writeFile(const std::string &path, const std::string &text)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << text;
	out.flush();
	return static_cast<bool>(out);
}

bool writeTraceFiles(const TraceData &data, const TraceOutputs &outputs)
{
	bool ok = true;
	auto write = [&](const std::string &path, auto render) {
		if (path.empty())
			return;
		if (!writeFile(path, render())) {
			fmt::print(stderr, "quanta: cannot write {}: {}\n", path, std::strerror(errno));
			ok = false;
		}
	};
	write(outputs.json, [&] { return chromeTraceJson(data); });
	write(outputs.csv, [&] { return traceCsv(data); });
	write(outputs.svg, [&] { return plotSvg(data); });
	if (data.droppedExits)
		fmt::print(stderr, "quanta: trace: {} exit events after the first {} were not recorded\n",
			   data.droppedExits, Tracer::kMaxExitEvents);
	return ok;
}

} // namespace quanta::trace
