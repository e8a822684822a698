#include "app/Sweep.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sched.h>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "app/Experiment.h"
#include "app/Options.h"
#include "app/ReportMeta.h"
#include "app/Run.h"
#include "app/SweepSummary.h"
#include "base/Error.h"

namespace quanta {

namespace fs = std::filesystem;

namespace {

constexpr const char *kUsage = R"(usage: quanta sweep EXPERIMENT.toml [--out-dir DIR] [--resume]
       quanta sweep EXPERIMENT.toml --list [--out-dir DIR] [--resume]
       quanta sweep EXPERIMENT.toml --run N [--out-dir DIR]
       quanta sweep --collect DIR [--out-dir DIR]

Runs the experiment over its [sweep] table: every cell (the cartesian product
of the listed values) `repeat` times, each run as its own quanta process,
with a progress line. Writes DIR/runs/run-NNNN.json (the run's report) and
.log (its output), then DIR/summary.csv and summary.json (mean, standard
deviation and 95% confidence interval of each metric per cell) and, when the
policies differ, DIR/compare-policies.svg. DIR defaults to the experiment's
name (its file name without .toml) in the current directory.

  --out-dir DIR   the sweep's folder
  --resume        continue an interrupted sweep: runs with a report are kept
  --list          print one self-contained command per run (for GNU parallel,
                  a Slurm array, ...) and exit; with --resume only the missing
  --run N         run only run N (0-based) and write its report
  --cpu N         with --run: pin the run to CPU N (see quanta --help)
  --collect DIR   summarise the reports (*.json, kind report) under DIR,
                  however they were made; writes into DIR (or --out-dir)
See docs/experiments.md.
)";

std::string shellQuote(const std::string &text)
{
	if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+./:=,@") ==
				     std::string::npos)
		return text;
	std::string out = "'";
	for (char c : text)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

std::string valueLabel(const toml::node &node, const std::string &where)
{
	if (auto s = node.value_exact<std::string>())
		return *s;
	if (auto n = node.value_exact<std::int64_t>())
		return std::to_string(*n);
	if (auto d = node.value_exact<double>())
		return fmt::format("{}", *d);
	if (auto b = node.value_exact<bool>())
		return *b ? "true" : "false";
	if (const toml::array *list = node.as_array()) {
		std::string out;
		for (const toml::node &item : *list) {
			auto n = item.value_exact<std::int64_t>();
			auto s = item.value_exact<std::string>();
			if (!n && !s)
				throw UsageError(fmt::format("{}: a list value holds numbers or strings", where));
			// In steps: GCC 12 at -O3 misreports "literal" + string&& as -Wrestrict.
			if (!out.empty())
				out += ',';
			out += n ? std::to_string(*n) : *s;
		}
		return out;
	}
	throw UsageError(fmt::format("{}: sweep values are strings, numbers, true/false or lists", where));
}

std::string cellLabel(const std::vector<std::pair<std::string, std::string>> &params)
{
	std::string label;
	for (const auto &[k, v] : params)
		label += (label.empty() ? "" : " ") + k + "=" + v;
	return label.empty() ? "(one cell)" : label;
}

// The Options of one cell: the experiment file's settings with the
// cell's values applied by the option table, as the file's own keys are.
} // namespace

Options sweepCellOptions(const SweepSpec &spec, std::size_t cell, std::vector<std::string> *warnings)
{
	Settings settings = readExperiment(spec.path);
	const std::string dir = fs::path(spec.path).parent_path().string();
	std::vector<std::size_t> index = spec.cellIndices(cell);
	try {
		for (std::size_t a = 0; a < spec.axes.size(); ++a) {
			const SweepAxis &axis = spec.axes[a];
			if (axis.key == "share" || axis.key == "name") // one value per VM, as --share 70,30
				applyKey(settings, "vm." + axis.key,
					 OptionValue{ axis.labels[index[a]], fmt::format("{}: sweep.{}", spec.path, axis.key) });
			else
				applyTomlKey(settings, axis.key, *axis.values.get(index[a]), spec.path, dir);
		}
		return resolve(settings, warnings);
	} catch (const UsageError &e) {
		throw UsageError(fmt::format("{} (sweep cell {})", e.what(), cellLabel(spec.cellParams(cell))));
	}
}

namespace {

std::string defaultOutDir(const SweepSpec &spec)
{
	return spec.name;
}

std::set<std::size_t> finishedRuns(const fs::path &outDir, std::size_t runs)
{
	std::set<std::size_t> done;
	for (std::size_t r = 0; r < runs; ++r)
		if (fs::exists(outDir / sweepRunFile(r)))
			done.insert(r);
	return done;
}

std::string selfPath()
{
	std::error_code ec;
	fs::path self = fs::read_symlink("/proc/self/exe", ec);
	return ec ? std::string("quanta") : self.string();
}

std::string absolute(const std::string &path)
{
	return fs::absolute(path).lexically_normal().string();
}

void writeFileAtomically(const fs::path &path, const std::string &text)
{
	fs::path part = path;
	part += ".part";
	{
		std::ofstream out(part);
		out << text;
		out.flush();
		if (!out)
			throw HostError(fmt::format("write {}", part.string()), errno ? errno : EIO);
	}
	fs::rename(part, path);
}

std::string durationText(double seconds)
{
	long s = static_cast<long>(seconds + 0.5);
	if (s >= 3600)
		return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
	if (s >= 60)
		return fmt::format("{}m{:02}s", s / 60, s % 60);
	return fmt::format("{}s", s);
}

// Reports under dir (recursively), by path: the summary's input.
std::vector<nlohmann::json> readReports(const fs::path &dir, std::vector<std::string> *skipped)
{
	std::vector<fs::path> files;
	for (const auto &entry : fs::recursive_directory_iterator(dir))
		if (entry.is_regular_file() && entry.path().extension() == ".json")
			files.push_back(entry.path());
	std::sort(files.begin(), files.end());
	std::vector<nlohmann::json> reports;
	for (const fs::path &file : files) {
		std::ifstream in(file);
		nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
		if (doc.is_object() && doc.value("kind", "") == "report")
			reports.push_back(std::move(doc));
		else if (skipped && !(doc.is_object() && doc.value("kind", "") == "summary"))
			skipped->push_back(file.string());
	}
	return reports;
}

// summary.csv, summary.json and the policy comparison from the reports
// under dir, written into outDir.
int collect(const std::string &dir, const std::string &outDir, const std::vector<std::string> &args)
{
	if (!fs::is_directory(dir))
		throw UsageError(fmt::format("--collect {}: not a directory", dir));
	std::vector<std::string> skipped;
	std::vector<nlohmann::json> reports = readReports(dir, &skipped);
	if (reports.empty())
		throw UsageError(fmt::format("--collect {}: no run reports (JSON files with \"kind\": \"report\")", dir));
	for (const std::string &file : skipped)
		fmt::print(stderr, "quanta: {}: not a quanta report, left out\n", file);
	SweepSummary summary;
	try {
		summary = summarizeReports(reports);
	} catch (const std::exception &e) {
		throw UsageError(fmt::format("--collect {}: {}", dir, e.what()));
	}
	fs::create_directories(outDir);
	RunMetadata meta = startMetadata(args, std::nullopt);
	finishMetadata(meta);
	std::vector<fs::path> written;
	writeFileAtomically(fs::path(outDir) / "summary.csv", summaryCsv(summary));
	written.push_back(fs::path(outDir) / "summary.csv");
	writeFileAtomically(fs::path(outDir) / "summary.json", summaryJson(summary, meta).dump(2) + "\n");
	written.push_back(fs::path(outDir) / "summary.json");
	if (std::string svg = policyComparisonSvg(summary); !svg.empty()) {
		writeFileAtomically(fs::path(outDir) / "compare-policies.svg", svg);
		written.push_back(fs::path(outDir) / "compare-policies.svg");
	}
	fmt::print(stderr, "quanta: {} runs in {} cells\n", summary.runs, summary.cells.size());
	for (const fs::path &file : written)
		fmt::print(stderr, "quanta: wrote {}\n", file.string());
	return kExitOk;
}

// One run, in this process: the cell's Options, its report written to
// runs/run-NNNN.json only when the run was not interrupted.
int runOne(const SweepSpec &spec, std::size_t runIndex, const std::string &outDir, std::optional<int> cpu)
{
	if (runIndex >= spec.runs())
		throw UsageError(fmt::format("--run {}: the sweep has runs 0 to {}", runIndex, spec.runs() - 1));
	std::size_t cell = runIndex / spec.repeat;
	std::vector<std::string> warnings;
	Options options = sweepCellOptions(spec, cell, &warnings);
	for (const std::string &warning : warnings)
		fmt::print(stderr, "quanta: warning: {}\n", warning);
	fs::path report = fs::path(outDir) / sweepRunFile(runIndex);
	fs::create_directories(report.parent_path());
	options.statsJsonPath = report.string(); // written whole or not at all
	options.status = false;
	if (cpu)
		options.cpu = cpu;
	// Outputs the file names go next to the run's report, one per run.
	fs::path stem = report;
	stem.replace_extension();
	for (auto [path, suffix] : { std::pair{ &options.tracePath, ".trace.json" },
				     std::pair{ &options.traceCsvPath, ".trace.csv" }, std::pair{ &options.plotPath, ".svg" } })
		if (!path->empty())
			*path = stem.string() + suffix;
	bool seedSwept = std::any_of(spec.axes.begin(), spec.axes.end(), [](const SweepAxis &a) { return a.key == "seed"; });
	if (!spec.fileHasSeed && !seedSwept)
		options.seed = runIndex + 1; // reproducible, and different per run

	nlohmann::json params = nlohmann::json::object();
	nlohmann::json axes = nlohmann::json::array();
	for (const auto &[k, v] : spec.cellParams(cell)) {
		params[k] = v;
		axes.push_back(k);
	}
	nlohmann::json sweep = { { "name", spec.name }, { "run", runIndex }, { "runs", spec.runs() }, { "cell", cell }, { "repeat", runIndex % spec.repeat }, { "params", params }, { "axes", axes } };
	int status = run(options, sweep);
	std::error_code ec;
	if (status >= 128)
		fs::remove(report, ec); // interrupted: --resume runs it again
	return status;
}

volatile std::sig_atomic_t interrupted = 0;

void onInterrupt(int)
{
	interrupted = 1;
}

// Runs one run as a child process, its output in runs/run-NNNN.log.
int runChild(const std::vector<std::string> &argv, const fs::path &log)
{
	pid_t pid = ::fork();
	if (pid < 0)
		throw HostError("fork", errno);
	if (pid == 0) {
		int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || null < 0 || ::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0 ||
		    ::dup2(null, STDIN_FILENO) < 0)
			::_exit(kExitHost);
		std::vector<char *> raw;
		for (const std::string &arg : argv)
			raw.push_back(const_cast<char *>(arg.c_str()));
		raw.push_back(nullptr);
		::execv(raw[0], raw.data());
		::_exit(kExitHost);
	}
	int wstatus = 0;
	while (::waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR)
			throw HostError("waitpid", errno);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

int runAll(const SweepSpec &spec, const std::string &outDir, bool resume)
{
	std::set<std::size_t> done = finishedRuns(outDir, spec.runs());
	if (!resume && fs::exists(fs::path(outDir) / "runs") && !fs::is_empty(fs::path(outDir) / "runs"))
		throw UsageError(fmt::format("{} already holds a sweep ({} of {} runs done): --resume continues it, "
					     "--out-dir DIR starts a new one",
					     outDir, done.size(), spec.runs()));
	fs::create_directories(fs::path(outDir) / "runs");
	const std::string self = selfPath();
	const std::string file = absolute(spec.path);
	const bool tty = ::isatty(STDERR_FILENO);
	struct sigaction action {};
	action.sa_handler = onInterrupt;
	::sigaction(SIGINT, &action, nullptr);
	::sigaction(SIGTERM, &action, nullptr);

	std::size_t todo = spec.runs() - done.size();
	std::size_t finished = 0;
	std::vector<std::size_t> failed;
	double spent = 0.0;
	if (done.size())
		fmt::print(stderr, "quanta: sweep {}: {} of {} runs already done\n", spec.name, done.size(), spec.runs());
	for (std::size_t r = 0; r < spec.runs() && !interrupted; ++r) {
		if (done.count(r))
			continue;
		std::size_t cell = r / spec.repeat;
		std::string left = finished ? durationText(spent / static_cast<double>(finished) *
							   static_cast<double>(todo - finished))
					    : "?";
		std::string line = fmt::format("sweep {}: {}/{} runs done, {} left; cell {}/{} ({}), repeat {}/{}", spec.name,
					       done.size() + finished, spec.runs(), left, cell + 1, spec.cells(),
					       cellLabel(spec.cellParams(cell)), r % spec.repeat + 1, spec.repeat);
		if (tty)
			fmt::print(stderr, "\r{}\x1b[K", line);
		else
			fmt::print(stderr, "{}\n", line);
		auto start = std::chrono::steady_clock::now();
		fs::path log = fs::path(outDir) / sweepRunFile(r);
		log.replace_extension(".log");
		int status = runChild({ self, "sweep", file, "--run", std::to_string(r), "--out-dir", absolute(outDir) }, log);
		spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
		if (status >= 128) {
			interrupted = 1;
			break;
		}
		++finished;
		if (!fs::exists(fs::path(outDir) / sweepRunFile(r)))
			failed.push_back(r);
	}
	if (tty)
		fmt::print(stderr, "\r\x1b[K");
	if (interrupted) {
		fmt::print(stderr, "quanta: sweep {} interrupted: {} of {} runs done; `quanta sweep {} --resume{}` continues it\n",
			   spec.name, finishedRuns(outDir, spec.runs()).size(), spec.runs(), spec.path,
			   outDir == defaultOutDir(spec) ? "" : " --out-dir " + shellQuote(outDir));
		return 128 + SIGINT;
	}
	fmt::print(stderr, "quanta: sweep {}: {} runs in {}\n", spec.name, finished, durationText(spent));
	for (std::size_t r : failed) {
		fs::path log = fs::path(outDir) / sweepRunFile(r);
		log.replace_extension(".log");
		fmt::print(stderr, "quanta: run {} wrote no report (see {})\n", r, log.string());
	}
	int status = collect(outDir, outDir, { self, "sweep", "--collect", outDir });
	return failed.empty() ? status : kExitHost;
}

} // namespace

std::size_t SweepSpec::cells() const
{
	std::size_t n = 1;
	for (const SweepAxis &axis : axes)
		n *= axis.values.size();
	return n;
}

std::vector<std::size_t> SweepSpec::cellIndices(std::size_t cell) const
{
	std::vector<std::size_t> index(axes.size());
	for (std::size_t a = axes.size(); a-- > 0;) {
		index[a] = cell % axes[a].values.size();
		cell /= axes[a].values.size();
	}
	return index;
}

std::vector<std::pair<std::string, std::string>> SweepSpec::cellParams(std::size_t cell) const
{
	std::vector<std::pair<std::string, std::string>> params;
	std::vector<std::size_t> index = cellIndices(cell);
	for (std::size_t a = 0; a < axes.size(); ++a)
		params.emplace_back(axes[a].key, axes[a].labels[index[a]]);
	return params;
}

std::string sweepRunFile(std::size_t run)
{
	return fmt::format("runs/run-{:04}.json", run);
}

SweepSpec readSweep(const std::string &path)
{
	SweepSpec spec;
	spec.path = path;
	spec.name = fs::path(path).stem().string();
	toml::table root;
	try {
		root = toml::parse_file(path);
	} catch (const toml::parse_error &e) {
		throw UsageError(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
	} catch (const std::exception &e) {
		throw UsageError(fmt::format("{}: {}", path, e.what()));
	}
	spec.fileHasSeed = root.contains("seed");
	const toml::node *node = root.get("sweep");
	if (!node)
		return spec;
	const toml::table *table = node->as_table();
	auto fail = [&](const toml::node &at, const std::string &why) {
		return UsageError(fmt::format("{}:{}: {}", path, at.source().begin.line, why));
	};
	if (!table)
		throw fail(*node, "'sweep' must be a table: [sweep]");
	std::vector<std::pair<std::int64_t, SweepAxis>> axes;
	for (auto &&[k, value] : *table) {
		std::string key(k.str());
		std::string where = fmt::format("{}:{}: sweep.{}", path, value.source().begin.line, key);
		if (key == "repeat") {
			auto n = value.value_exact<std::int64_t>();
			if (!n || *n < 1 || *n > 100000)
				throw fail(value, "'sweep.repeat' must be a whole number from 1 to 100000");
			spec.repeat = static_cast<std::size_t>(*n);
			continue;
		}
		if (key == "vm" || key == "channel" || key == "sweep" || key == "description")
			throw fail(value, fmt::format("'sweep.{}' cannot be swept", key));
		SweepAxis axis;
		axis.key = key;
		const toml::array *list = value.as_array();
		if (list && list->empty())
			throw fail(value, fmt::format("'sweep.{}' has no values", key));
		// share = [[50, 50], [70, 30]]: a list of lists; quantum = "10ms": one value.
		bool listOfValues = list && !list->empty() && (key != "share" || list->front().is_array());
		if (listOfValues)
			axis.values = *list;
		else
			axis.values.push_back(value);
		if (axis.values.empty())
			throw fail(value, fmt::format("'sweep.{}' has no values", key));
		for (const toml::node &v : axis.values)
			axis.labels.push_back(valueLabel(v, where));
		axes.emplace_back(value.source().begin.line, std::move(axis));
	}
	// The file's order: toml++ keeps keys sorted.
	std::stable_sort(axes.begin(), axes.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
	for (auto &[line, axis] : axes)
		spec.axes.push_back(std::move(axis));
	if (spec.runs() > 1'000'000)
		throw UsageError(fmt::format("{}: the sweep has {} runs: too many", path, spec.runs()));
	return spec;
}

int sweepCommand(const std::vector<std::string> &args)
{
	std::string file;
	std::string outDir;
	std::string collectDir;
	std::optional<std::size_t> runIndex;
	std::optional<int> cpu;
	bool list = false;
	bool resume = false;
	try {
		for (std::size_t i = 2; i < args.size(); ++i) {
			const std::string &arg = args[i];
			auto value = [&]() -> const std::string & {
				if (i + 1 >= args.size())
					throw UsageError(fmt::format("sweep: {} needs a value (see quanta sweep --help)", arg));
				return args[++i];
			};
			if (arg == "-h" || arg == "--help") {
				fmt::print("{}", kUsage);
				return kExitOk;
			} else if (arg == "--out-dir") {
				outDir = value();
			} else if (arg == "--collect") {
				collectDir = value();
			} else if (arg == "--run") {
				const std::string &text = value();
				char *end = nullptr;
				errno = 0;
				unsigned long long n = std::strtoull(text.c_str(), &end, 10);
				if (text.empty() || *end || errno || text[0] == '-')
					throw UsageError(fmt::format("sweep: --run '{}' is not a run number", text));
				runIndex = static_cast<std::size_t>(n);
			} else if (arg == "--cpu") {
				const std::string &text = value();
				char *end = nullptr;
				unsigned long n = std::strtoul(text.c_str(), &end, 10);
				if (text.empty() || *end || text[0] == '-' || n >= CPU_SETSIZE)
					throw UsageError(fmt::format("sweep: --cpu '{}' is not a CPU number", text));
				cpu = static_cast<int>(n);
			} else if (arg == "--list") {
				list = true;
			} else if (arg == "--resume") {
				resume = true;
			} else if (!arg.empty() && arg[0] == '-') {
				throw UsageError(fmt::format("sweep: unknown option '{}' (see quanta sweep --help)", arg));
			} else if (file.empty()) {
				file = arg;
			} else {
				throw UsageError(fmt::format("sweep: one experiment file, got '{}' and '{}'", file, arg));
			}
		}
		if (cpu && !runIndex)
			throw UsageError("sweep: --cpu N goes with --run N (pin each run of a --list where the job engine runs it)");
		if (!collectDir.empty()) {
			if (!file.empty() || list || runIndex || resume)
				throw UsageError("sweep: --collect DIR takes no experiment file, --list, --run or --resume");
			return collect(collectDir, outDir.empty() ? collectDir : outDir, args);
		}
		if (file.empty())
			throw UsageError("sweep: no experiment file (see quanta sweep --help)");
		if (!fs::is_regular_file(file))
			throw UsageError(fmt::format("sweep: {}: no such file", file));
		SweepSpec spec = readSweep(file);
		if (outDir.empty())
			outDir = defaultOutDir(spec);
		if (runIndex)
			return runOne(spec, *runIndex, outDir, cpu);
		// Every cell must make valid options before anything runs.
		for (std::size_t cell = 0; cell < spec.cells(); ++cell)
			sweepCellOptions(spec, cell);
		if (list) {
			std::set<std::size_t> done = resume ? finishedRuns(outDir, spec.runs()) : std::set<std::size_t>{};
			for (std::size_t r = 0; r < spec.runs(); ++r)
				if (!done.count(r))
					fmt::print("{} sweep {} --run {} --out-dir {}\n", shellQuote(selfPath()),
						   shellQuote(absolute(file)), r, shellQuote(absolute(outDir)));
			return kExitOk;
		}
		return runAll(spec, outDir, resume);
	} catch (const UsageError &e) {
		fmt::print(stderr, "quanta: {}\n", e.what());
		return kExitUsage;
	} catch (const HostError &e) {
		fmt::print(stderr, "quanta: {}\n", e.what());
		return kExitHost;
	} catch (const std::exception &e) {
		fmt::print(stderr, "quanta: sweep: {}\n", e.what());
		return kExitHost;
	}
}

} // namespace quanta
