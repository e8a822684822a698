#include "app/Experiment.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <system_error>

#include "base/Error.h"
#include "base/Parse.h"

namespace quanta {

namespace {

namespace fs = std::filesystem;

// An experiment file is a page of text; anything larger is not one (and
// /dev/zero must not be read until memory runs out).
constexpr std::uintmax_t kMaxExperimentBytes = 1 << 20;

std::string place(const std::string &file, const toml::node &node)
{
	return fmt::format("{}:{}", file, node.source().begin.line);
}

std::string inputPath(const std::string &path, const std::string &baseDir)
{
	fs::path p = path;
	return p.is_absolute() || baseDir.empty() ? p.string() : (fs::path(baseDir) / p).lexically_normal().string();
}

// Reads one experiment file into Settings, checking every key.
class Reader {
public:
	Reader(std::string path)
		: path_(std::move(path)), dir_(fs::path(path_).parent_path().string()) {}

	Settings read()
	{
		checkFile();
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
		return std::move(settings_);
	}

private:
	struct Vm {
		std::string image;
		std::optional<std::string> name;
		std::optional<std::uint64_t> share;
		std::optional<CpuMode> mode;
		std::int64_t line;
	};

	void checkFile() const
	{
		std::error_code error;
		fs::file_status status = fs::status(path_, error);
		if (status.type() == fs::file_type::not_found)
			throw UsageError(fmt::format("{}: no such file", path_));
		if (error)
			throw UsageError(fmt::format("{}: {}", path_, error.message()));
		if (fs::is_directory(status))
			throw UsageError(fmt::format("{}: is a directory, not an experiment file", path_));
		if (!fs::is_regular_file(status))
			throw UsageError(fmt::format("{}: not a regular file", path_));
		if (fs::file_size(path_, error) > kMaxExperimentBytes)
			throw UsageError(fmt::format("{}: larger than 1 MiB: not an experiment file", path_));
	}

	[[noreturn]] void fail(const toml::node &node, const std::string &what) const
	{
		throw UsageError(fmt::format("{}: {}", place(path_, node), what));
	}

	OptionValue value(const toml::node &node, const std::string &key) const
	{
		return tomlOptionValue(node, fmt::format("{}: {}", place(path_, node), key));
	}

	void top(const std::string &key, const toml::node &node)
	{
		if (key == "description") {
			value(node, key).text("text"); // free text for the reader, checked only for type
		} else if (key == "sweep") {
			// read by quanta sweep (Sweep.h); quanta run runs the file as is
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
		} else if (isOptionKey(key)) {
			applyTomlKey(settings_, key, node, path_, dir_);
		} else {
			std::vector<std::string> keys{ "description", "vm", "channel" };
			for (const OptionDef &def : optionTable())
				if (def.key && std::string_view(def.key).find('.') == std::string_view::npos)
					keys.push_back(def.key);
			std::string suggestion = closestName(key, keys);
			fail(node, suggestion.empty() ? fmt::format("unknown key '{}'", key)
						      : fmt::format("unknown key '{}'; did you mean '{}'?", key, suggestion));
		}
	}

	void vm(const toml::table &table)
	{
		Vm vm{ {}, {}, {}, {}, table.source().begin.line };
		for (auto &&[k, node] : table) {
			std::string key(k.str());
			OptionValue given = value(node, "vm." + key);
			if (key == "image") {
				vm.image = given.text("a file name");
				if (vm.image.empty())
					given.fail("empty file name");
				vm.image = inputPath(vm.image, dir_);
			} else if (key == "name") {
				vm.name = given.text("a VM name");
			} else if (key == "share") {
				vm.share = shareValue(given);
			} else if (key == "mode") {
				std::string text = given.text("a CPU mode such as \"real\"");
				vm.mode = parseCpuMode(text);
				if (!vm.mode)
					given.fail(fmt::format("'{}' is not a CPU mode (real, protected, paged or long)", text));
			} else {
				std::string suggestion = closestName(key, { "image", "name", "share", "mode" });
				fail(node, suggestion.empty()
						   ? fmt::format("unknown key 'vm.{}'", key)
						   : fmt::format("unknown key 'vm.{}'; did you mean 'vm.{}'?", key, suggestion));
			}
		}
		if (vm.image.empty())
			throw UsageError(fmt::format("{}:{}: [[vm]] without an image", path_, vm.line));
		vms_.push_back(std::move(vm));
	}

	void channel(const toml::table &table)
	{
		ChannelSetting channel;
		channel.where = fmt::format("{}:{}: [[channel]]", path_, table.source().begin.line);
		for (auto &&[k, node] : table) {
			std::string key(k.str());
			OptionValue given = value(node, "channel." + key);
			auto number = [&](std::uint64_t most) {
				std::uint64_t n = given.whole("a whole number");
				if (n < 1 || n > most)
					given.fail(fmt::format("{} is not from 1 to {}", n, most));
				return static_cast<std::uint32_t>(n);
			};
			if (key == "from")
				channel.from = given.text("a VM name");
			else if (key == "to")
				channel.to = given.text("a VM name");
			else if (key == "slots")
				channel.slots = number(4096);
			else if (key == "size")
				channel.maxSize = number(65536);
			else if (key == "name")
				channel.name = given.text("a channel name");
			else
				fail(node, fmt::format("unknown key 'channel.{}'", key));
		}
		if (channel.from.empty() || channel.to.empty())
			throw UsageError(fmt::format("{} needs from and to (VM names)", channel.where));
		settings_.channels.push_back(std::move(channel));
	}

	// [[vm]] tables become the guest list, names, shares and modes.
	void guests()
	{
		auto column = [&](auto field, const char *what) {
			std::size_t given = static_cast<std::size_t>(std::count_if(
				vms_.begin(), vms_.end(), [&](const Vm &vm) { return (vm.*field).has_value(); }));
			if (given != 0 && given != vms_.size())
				throw UsageError(fmt::format("{}: give every [[vm]] a {} or none", path_, what));
			return given != 0;
		};
		settings_.images.clear();
		for (const Vm &vm : vms_)
			settings_.images.push_back(vm.image);
		if (column(&Vm::name, "name")) {
			settings_.names.clear();
			for (const Vm &vm : vms_)
				settings_.names.push_back(*vm.name);
			settings_.namesWhere = fmt::format("{}: [[vm]] names", path_);
		}
		if (column(&Vm::share, "share")) {
			settings_.shares.clear();
			for (const Vm &vm : vms_)
				settings_.shares.push_back(*vm.share);
			settings_.sharesWhere = fmt::format("{}: [[vm]] shares", path_);
		}

		// Per-VM modes fall back to the file's mode; a list needs them all.
		if (std::none_of(vms_.begin(), vms_.end(), [](const Vm &vm) { return vm.mode.has_value(); }))
			return;
		std::vector<CpuMode> modes;
		for (const Vm &vm : vms_) {
			if (!vm.mode && settings_.modes.size() != 1)
				throw UsageError(fmt::format("{}:{}: [[vm]] without a mode while others have one "
							     "(give it one, or set mode at the top)",
							     path_, vm.line));
			modes.push_back(vm.mode.value_or(settings_.modes.empty() ? CpuMode::Long : settings_.modes[0]));
		}
		settings_.modes = modes;
		settings_.modesWhere = fmt::format("{}: [[vm]] modes", path_);
		settings_.modesPerGuest = true;
	}

	std::string path_;
	std::string dir_;
	std::vector<Vm> vms_;
	Settings settings_ = defaultSettings();
};

constexpr const char *kRunUsage =
	"usage: quanta run EXPERIMENT.toml [options...]\n"
	"Runs the experiment the file describes; options given after the file override its keys\n"
	"(see README.md, \"Experiment files\", and quanta --help for the options).\n";

} // namespace

const std::vector<std::string> &experimentTableKeys()
{
	static const std::vector<std::string> keys = { "vm.image", "vm.name", "vm.share", "vm.mode",
						       "channel.from", "channel.to", "channel.slots", "channel.size",
						       "channel.name" };
	return keys;
}

OptionValue tomlOptionValue(const toml::node &node, std::string where)
{
	OptionValue value{ std::monostate{}, std::move(where) };
	if (auto b = node.value_exact<bool>())
		value.data = *b;
	else if (auto n = node.value_exact<std::int64_t>())
		value.data = *n;
	else if (auto d = node.value_exact<double>())
		value.data = *d;
	else if (auto s = node.value_exact<std::string>())
		value.data = *s;
	else if (const toml::array *array = node.as_array()) {
		// Strings, or whole numbers (ports: [0x10, 0x11]) as decimal text.
		std::vector<std::string> items;
		for (const toml::node &item : *array) {
			if (auto s = item.value_exact<std::string>())
				items.push_back(*s);
			else if (auto n = item.value_exact<std::int64_t>())
				items.push_back(std::to_string(*n));
			else
				return value; // a list of something else: no option takes it
		}
		value.data = std::move(items);
	} else if (const toml::table *table = node.as_table()) {
		// A small table of names to numbers or text (hypercall_ports = {
		// printStr = 0x80 }) as NAME=VALUE items.
		std::vector<std::string> items;
		for (auto &&[key, item] : *table) {
			if (auto s = item.value_exact<std::string>())
				items.push_back(fmt::format("{}={}", key.str(), *s));
			else if (auto n = item.value_exact<std::int64_t>())
				items.push_back(fmt::format("{}={}", key.str(), *n));
			else
				return value;
		}
		value.data = std::move(items);
	}
	return value;
}

void applyTomlKey(Settings &settings, const std::string &key, const toml::node &node, const std::string &file,
		  const std::string &baseDir)
{
	OptionValue value = tomlOptionValue(node, fmt::format("{}: {}", place(file, node), key));
	auto def = std::find_if(optionTable().begin(), optionTable().end(),
				[&](const OptionDef &d) { return d.key && key == d.key; });
	if (def != optionTable().end() && def->inputPath) {
		// File names are text: numbers in the list are a mistake here.
		if (const toml::array *array = node.as_array())
			for (const toml::node &item : *array)
				if (!item.is_string())
					value.data = std::monostate{};
		std::vector<std::string> paths = value.list("a list of file names");
		for (std::string &path : paths) {
			if (path.empty())
				value.fail("empty file name");
			path = inputPath(path, baseDir);
		}
		value.data = std::move(paths);
	}
	applyKey(settings, key, value);
}

Settings readExperiment(const std::string &path)
{
	return Reader(path).read();
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
		Settings settings = readExperiment(args[2]);
		// Each run's files go to a new numbered folder, by default in a
		// folder named after the experiment: no run overwrites another.
		settings.options.runFolders = true;
		if (settings.options.outDir.empty())
			settings.options.outDir = fs::path(args[2]).stem().string();
		std::vector<std::string> overrides{ args[0] };
		overrides.insert(overrides.end(), args.begin() + 3, args.end());
		return parseCommandLine(overrides, std::move(settings));
	} catch (const UsageError &e) {
		result.exitCode = kExitUsage;
		result.messageIsError = true;
		result.message = fmt::format("quanta: {}\n", e.what());
		return result;
	}
}

} // namespace quanta
