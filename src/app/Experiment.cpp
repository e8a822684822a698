#include "app/Experiment.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <toml++/toml.h>

#include "base/Error.h"

namespace quanta {

namespace {

namespace fs = std::filesystem;

// Reads one experiment file into ExperimentArgs, checking every key.
class Reader {
public:
	Reader(std::string path)
		: path_(std::move(path)), dir_(fs::path(path_).parent_path()) {}

	std::vector<ExperimentArg> read()
	{
		toml::table root;
		try {
			root = toml::parse_file(path_);
		} catch (const toml::parse_error &e) {
			throw UsageError(fmt::format("{}:{}: {}", path_, e.source().begin.line, e.description()));
		} catch (const std::exception &e) {
			throw UsageError(fmt::format("{}: {}", path_, e.what()));
		}
		for (auto &&[key, node] : root)
			top(std::string(key.str()), node);
		guests();
		if (vms_.empty())
			throw UsageError(fmt::format("{}: no [[vm]]: an experiment needs at least one guest", path_));
		return std::move(args_);
	}

private:
	struct Vm {
		std::string image;
		std::string name;
		std::string share;
		std::string mode;
		std::int64_t line;
	};

	[[noreturn]] void fail(const toml::node &node, const std::string &what) const
	{
		throw UsageError(fmt::format("{}:{}: {}", path_, node.source().begin.line, what));
	}

	void add(std::string option, std::vector<std::string> values = {}, std::vector<std::string> replacedBy = {})
	{
		if (replacedBy.empty())
			replacedBy.push_back(option);
		args_.push_back({ std::move(option), std::move(values), std::move(replacedBy) });
	}

	std::string text(const toml::node &node, const std::string &key) const
	{
		if (auto s = node.value_exact<std::string>())
			return *s;
		fail(node, fmt::format("'{}' must be a string", key));
	}

	// Durations, sizes and addresses: "10ms", "64M", "0x7c00", or a number.
	std::string textOrNumber(const toml::node &node, const std::string &key) const
	{
		if (auto s = node.value_exact<std::string>())
			return *s;
		if (auto n = node.value_exact<std::int64_t>(); n && *n >= 0)
			return std::to_string(*n);
		fail(node, fmt::format("'{}' must be a string or a whole number", key));
	}

	std::string number(const toml::node &node, const std::string &key) const
	{
		if (auto n = node.value_exact<std::int64_t>(); n && *n >= 0)
			return std::to_string(*n);
		fail(node, fmt::format("'{}' must be a whole number", key));
	}

	bool flag(const toml::node &node, const std::string &key) const
	{
		if (auto b = node.value_exact<bool>())
			return *b;
		fail(node, fmt::format("'{}' must be true or false", key));
	}

	// Inputs are found next to the experiment file.
	std::string input(const toml::node &node, const std::string &key) const
	{
		fs::path p = text(node, key);
		if (p.empty())
			fail(node, fmt::format("'{}' is empty", key));
		return p.is_absolute() || dir_.empty() ? p.string() : (dir_ / p).lexically_normal().string();
	}

	void top(const std::string &key, const toml::node &node)
	{
		// Keys that map one to one onto an option taking one value.
		static const std::pair<const char *, const char *> kText[] = {
			{ "policy", "--policy" },
			{ "unknown_ports", "--unknown-ports" },
			{ "stdin", "--stdin" },
			{ "stats_json", "--stats-json" },
			{ "trace", "--trace" },
			{ "trace_csv", "--trace-csv" },
			{ "trace_level", "--trace-level" },
			{ "plot", "--plot" },
			{ "files_dir", "--files-dir" },
		};
		static const std::pair<const char *, const char *> kTextOrNumber[] = {
			{ "quantum", "--quantum" },
			{ "duration", "--duration" },
			{ "load", "--load" },
			{ "entry", "--entry" },
			{ "cs_base", "--cs-base" },
			{ "file_max_size", "--file-max-size" },
			{ "seed", "--seed" },
		};
		for (auto [name, option] : kText)
			if (key == name)
				return add(option, { text(node, key) });
		for (auto [name, option] : kTextOrNumber)
			if (key == name)
				return add(option, { textOrNumber(node, key) });

		if (key == "description") {
			text(node, key); // free text for the reader, checked only for type
		} else if (key == "memory") {
			add("--memory", { number(node, key) });
		} else if (key == "page") {
			add("--page", { number(node, key) });
		} else if (key == "mode") {
			mode_ = text(node, key);
		} else if (key == "files") {
			const toml::array *files = node.as_array();
			if (!files)
				fail(node, "'files' must be a list of file names");
			std::vector<std::string> paths;
			for (const toml::node &file : *files)
				paths.push_back(input(file, "files"));
			if (!paths.empty())
				add("--file", paths);
		} else if (key == "report") {
			add(flag(node, key) ? "--report" : "--no-report", {}, { "--report", "--no-report" });
		} else if (key == "prefix") {
			if (!flag(node, key))
				add("--no-prefix");
		} else if (key == "status") {
			if (!flag(node, key))
				add("--no-status");
		} else if (key == "explain") {
			if (flag(node, key))
				add("--explain");
		} else if (key == "vm") {
			const toml::array *list = node.as_array();
			if (!list || !list->is_array_of_tables())
				fail(node, "'vm' must be an array of tables: [[vm]]");
			for (const toml::node &table : *list)
				vm(*table.as_table());
		} else if (key == "channel") {
			const toml::array *list = node.as_array();
			if (!list || !list->is_array_of_tables())
				fail(node, "'channel' must be an array of tables: [[channel]]");
			for (const toml::node &table : *list)
				channel(*table.as_table());
		} else {
			fail(node, fmt::format("unknown key '{}'", key));
		}
	}

	void vm(const toml::table &table)
	{
		Vm vm{ {}, {}, {}, {}, table.source().begin.line };
		for (auto &&[k, node] : table) {
			std::string key(k.str());
			if (key == "image")
				vm.image = input(node, "vm.image");
			else if (key == "name")
				vm.name = text(node, "vm.name");
			else if (key == "share")
				vm.share = number(node, "vm.share");
			else if (key == "mode")
				vm.mode = text(node, "vm.mode");
			else
				fail(node, fmt::format("unknown key 'vm.{}'", key));
		}
		if (vm.image.empty())
			throw UsageError(fmt::format("{}:{}: [[vm]] without an image", path_, vm.line));
		vms_.push_back(std::move(vm));
	}

	void channel(const toml::table &table)
	{
		std::string from;
		std::string to;
		std::string spec;
		for (auto &&[k, node] : table) {
			std::string key(k.str());
			if (key == "from")
				from = text(node, "channel.from");
			else if (key == "to")
				to = text(node, "channel.to");
			else if (key == "slots" || key == "size")
				spec += fmt::format(",{}={}", key, number(node, "channel." + key));
			else if (key == "name")
				spec += ",name=" + text(node, "channel.name");
			else
				fail(node, fmt::format("unknown key 'channel.{}'", key));
		}
		if (from.empty() || to.empty())
			throw UsageError(fmt::format("{}:{}: [[channel]] needs from and to (VM names)", path_,
						     table.source().begin.line));
		channels_.push_back(from + ":" + to + spec);
	}

	// [[vm]] tables become -g, --name, --share and --mode lists. A
	// command line that gives other guests replaces all of them.
	void guests()
	{
		const std::vector<std::string> byGuests = { "--guest" };
		auto column = [&](auto field, const char *what) {
			std::vector<std::string> values;
			for (const Vm &vm : vms_)
				if (!(vm.*field).empty())
					values.push_back(vm.*field);
			if (!values.empty() && values.size() != vms_.size())
				throw UsageError(fmt::format("{}: give every [[vm]] a {} or none", path_, what));
			return values;
		};
		std::vector<std::string> images;
		for (const Vm &vm : vms_)
			images.push_back(vm.image);
		std::vector<std::string> names = column(&Vm::name, "name");
		std::vector<std::string> shares = column(&Vm::share, "share");

		// Per-VM modes fall back to the file's mode; a list needs them all.
		std::vector<std::string> modes;
		bool anyVmMode = std::any_of(vms_.begin(), vms_.end(), [](const Vm &vm) { return !vm.mode.empty(); });
		if (anyVmMode) {
			for (const Vm &vm : vms_) {
				if (vm.mode.empty() && mode_.empty())
					throw UsageError(fmt::format("{}:{}: [[vm]] without a mode while others have one "
								     "(give it one, or set mode at the top)",
								     path_, vm.line));
				modes.push_back(vm.mode.empty() ? mode_ : vm.mode);
			}
		}

		auto join = [](const std::vector<std::string> &items) {
			std::string out;
			for (const std::string &item : items)
				out += (out.empty() ? "" : ",") + item;
			return out;
		};
		add("--guest", images);
		if (!names.empty())
			add("--name", { join(names) }, { "--name", "--guest" });
		if (!shares.empty())
			add("--share", { join(shares) }, { "--share", "--guest" });
		if (anyVmMode)
			add("--mode", { join(modes) }, { "--mode", "--guest" });
		else if (!mode_.empty())
			add("--mode", { mode_ });
		for (const std::string &channel : channels_)
			add("--channel", { channel }, { "--channel", "--guest" });
	}

	std::string path_;
	fs::path dir_;
	std::string mode_;
	std::vector<Vm> vms_;
	std::vector<std::string> channels_;
	std::vector<ExperimentArg> args_;
};

// The long name of an option as written on the command line.
std::string optionName(const std::string &token)
{
	static const std::pair<const char *, const char *> kShort[] = {
		{ "-m", "--memory" },
		{ "-p", "--page" },
		{ "-g", "--guest" },
		{ "-f", "--file" },
	};
	std::string name = token.substr(0, token.find('='));
	if (name.size() > 2 && name[1] != '-')
		name.resize(2); // -m4
	for (auto [s, l] : kShort)
		if (name == s)
			return l;
	return name;
}

constexpr const char *kRunUsage =
	"usage: quanta run EXPERIMENT.toml [options...]\n"
	"Runs the experiment the file describes; options given after the file override its keys\n"
	"(see README.md, \"Experiment files\", and quanta --help for the options).\n";

} // namespace

std::vector<ExperimentArg> experimentArguments(const std::string &path)
{
	return Reader(path).read();
}

std::vector<std::string> experimentCommandLine(const std::string &program, const std::vector<ExperimentArg> &file,
					       const std::vector<std::string> &overrides)
{
	std::set<std::string> given;
	for (const std::string &token : overrides)
		if (token.size() > 1 && token[0] == '-')
			given.insert(optionName(token));

	std::vector<std::string> line{ program };
	for (const ExperimentArg &arg : file) {
		bool replaced = std::any_of(arg.replacedBy.begin(), arg.replacedBy.end(),
					    [&](const std::string &option) { return given.count(option) > 0; });
		if (replaced)
			continue;
		line.push_back(arg.option);
		line.insert(line.end(), arg.values.begin(), arg.values.end());
	}
	line.insert(line.end(), overrides.begin(), overrides.end());
	return line;
}

CommandLine parseExperiment(const std::vector<std::string> &args)
{
	CommandLine result;
	if (args.size() < 3 || args[2] == "-h" || args[2] == "--help") {
		bool help = args.size() >= 3;
		result.message = help ? kRunUsage : std::string("quanta run: no experiment file (see quanta run --help)\n");
		result.exitCode = help ? 0 : kExitUsage;
		result.messageIsError = !help;
		return result;
	}
	try {
		std::vector<ExperimentArg> file = experimentArguments(args[2]);
		return parseCommandLine(experimentCommandLine(args[0], file, { args.begin() + 3, args.end() }));
	} catch (const UsageError &e) {
		result.exitCode = kExitUsage;
		result.messageIsError = true;
		result.message = fmt::format("quanta: {}\n", e.what());
		return result;
	}
}

} // namespace quanta
