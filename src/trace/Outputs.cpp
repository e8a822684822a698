#include "trace/Outputs.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/Error.h"
#include "trace/ChromeTrace.h"
#include "trace/Png.h"

namespace quanta::trace {

namespace {

namespace fs = std::filesystem;

std::string extensionOf(const std::string &path)
{
	std::string ext = fs::path(path).extension().string();
	for (char &c : ext)
		c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	return ext;
}

// Two names for one file: the same absolute path after resolving what
// exists of it (symlinks, "..", "./").
std::string identityOf(const std::string &path)
{
	std::error_code error;
	fs::path resolved = fs::weakly_canonical(fs::absolute(path, error), error);
	return error ? fs::absolute(path).lexically_normal().string() : resolved.string();
}

void checkWritable(std::string_view option, const std::string &path)
{
	std::error_code error;
	if (fs::is_directory(path, error))
		throw UsageError(fmt::format("{} {}: is a directory, not a file", option, path));
	fs::path dir = fs::path(path).parent_path();
	if (dir.empty())
		dir = ".";
	if (!fs::is_directory(dir, error))
		throw UsageError(fmt::format("{} {}: no such directory {}", option, path, dir.string()));
	if (::access(dir.c_str(), W_OK | X_OK) != 0)
		throw UsageError(fmt::format("{} {}: cannot write in {}: {}", option, path, dir.string(),
					     std::strerror(errno)));
	if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
		throw UsageError(fmt::format("{} {}: cannot write: {}", option, path, std::strerror(errno)));
}

} // namespace

PlotFormat plotFormatOf(std::string_view option, const std::string &path)
{
	std::string ext = extensionOf(path);
	if (ext == ".svg")
		return PlotFormat::Svg;
	if (ext == ".png") {
		if (!pngSupported())
			throw UsageError(fmt::format("{} {}: this quanta was built without librsvg (Debian: "
						     "librsvg2-dev), so it writes only .svg",
						     option, path));
		return PlotFormat::Png;
	}
	throw UsageError(fmt::format("{} {}: a plot is written as .svg or .png, not {}", option, path,
				     ext.empty() ? std::string("a name without an extension") : ext));
}

void checkOutputs(const RunOutputs &outputs, bool checkDirectories)
{
	struct Output {
		std::string_view option;
		const std::string &path;
		std::string_view extension; // empty: the plot's own check
		std::string_view what;
	};
	const Output all[] = {
		{ "--stats-json", outputs.statsJson, ".json", "the report is JSON" },
		{ "--trace", outputs.traceJson, ".json", "the trace is Chrome trace JSON (--trace-csv writes CSV)" },
		{ "--trace-csv", outputs.traceCsv, ".csv", "--trace-csv writes CSV (--trace writes JSON)" },
		{ "--plot", outputs.plot, "", "" },
	};
	// Collisions first: `--trace t.json --trace-csv t.json` is about one
	// file, whatever its name should have been.
	std::vector<std::pair<std::string, std::string_view>> seen; // identity -> option
	for (const Output &out : all) {
		if (out.path.empty())
			continue;
		std::string id = identityOf(out.path);
		for (const auto &[otherId, otherOption] : seen)
			if (otherId == id)
				throw UsageError(fmt::format("{} and {} both write {}: give each output its own file",
							     otherOption, out.option, out.path));
		seen.emplace_back(id, out.option);
	}
	for (const Output &out : all) {
		if (out.path.empty())
			continue;
		if (out.extension.empty())
			plotFormatOf(out.option, out.path);
		else if (extensionOf(out.path) != out.extension)
			throw UsageError(fmt::format("{} {}: {}: name it with {}", out.option, out.path, out.what,
						     out.extension));
		if (checkDirectories)
			checkWritable(out.option, out.path);
	}
}

std::string placeOutputs(RunOutputs &outputs, const std::string &dir, bool runFolders)
{
	std::string *paths[] = { &outputs.statsJson, &outputs.traceJson, &outputs.traceCsv, &outputs.plot };
	bool relative = false;
	for (const std::string *path : paths)
		relative |= !path->empty() && fs::path(*path).is_relative();
	if (dir.empty() || !relative)
		return "";
	std::error_code error;
	fs::create_directories(dir, error);
	if (!fs::is_directory(dir))
		throw UsageError(fmt::format("--out-dir {}: cannot make the folder: {}", dir,
					     error ? error.message() : "not a directory"));
	fs::path folder = dir;
	if (runFolders) {
		// mkdir is atomic: two runs at once still get different folders.
		for (unsigned n = 1;; ++n) {
			folder = fs::path(dir) / fmt::format("run-{}", n);
			if (::mkdir(folder.c_str(), 0777) == 0)
				break;
			if (errno != EEXIST || n == 1'000'000)
				throw UsageError(fmt::format("--out-dir {}: cannot make {}: {}", dir, folder.string(),
							     std::strerror(errno)));
		}
	}
	for (std::string *path : paths)
		if (!path->empty() && fs::path(*path).is_relative())
			*path = (folder / *path).lexically_normal().string();
	return folder.string();
}

bool writeFile(const std::string &path, const std::string &text)
{
	// A regular file is replaced whole (written beside it, then renamed), so
	// a reader or an interrupted run never sees half a report; a FIFO or a
	// device is written in place.
	std::error_code ec;
	fs::file_status status = fs::status(path, ec);
	bool inPlace = fs::exists(status) && !fs::is_regular_file(status);
	fs::path target(path);
	fs::path part = inPlace ? target : target.parent_path() / fmt::format(".{}.part", target.filename().string());
	{
		std::ofstream out(part, std::ios::binary | std::ios::trunc);
		out << text;
		out.close();
		if (!out) {
			int saved = errno;
			if (!inPlace)
				fs::remove(part, ec);
			errno = saved;
			return false;
		}
	}
	if (!inPlace) {
		fs::rename(part, target, ec);
		if (ec) {
			fs::remove(part, ec);
			errno = ec.value();
			return false;
		}
	}
	return true;
}

namespace {

void sayLine(const Say &say, const std::string &line)
{
	if (say)
		say(line);
	else
		std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace

bool writeOutput(const std::string &path, const std::string &text, std::string_view prefix, const Say &say)
{
	errno = 0;
	if (!writeFile(path, text)) {
		sayLine(say, fmt::format("{}: cannot write {}: {}\n", prefix, path,
					 errno ? std::strerror(errno) : "write failed"));
		return false;
	}
	sayLine(say, fmt::format("{}: wrote {}\n", prefix, path));
	return true;
}

std::string renderPlot(const TraceData &data, PlotFormat format, PlotStyle style)
{
	std::string svg = plotSvg(data, style);
	return format == PlotFormat::Png ? svgToPng(svg) : svg;
}

bool writeTraceFiles(const TraceData &data, const RunOutputs &outputs, const Say &say)
{
	bool ok = true;
	if (!outputs.traceJson.empty())
		ok &= writeOutput(outputs.traceJson, chromeTraceJson(data), "quanta", say);
	if (!outputs.traceCsv.empty())
		ok &= writeOutput(outputs.traceCsv, traceCsv(data), "quanta", say);
	if (!outputs.plot.empty()) {
		try {
			ok &= writeOutput(outputs.plot,
					  renderPlot(data, plotFormatOf("--plot", outputs.plot), outputs.plotStyle),
					  "quanta", say);
		} catch (const std::exception &e) {
			sayLine(say, fmt::format("quanta: cannot write {}: {}\n", outputs.plot, e.what()));
			ok = false;
		}
	}
	if (data.droppedExits)
		sayLine(say, fmt::format("quanta: trace: {} exit events after the first {} were not recorded\n",
					 data.droppedExits, Tracer::kMaxExitEvents));
	return ok;
}

} // namespace quanta::trace
