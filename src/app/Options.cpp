#include "app/Options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <set>

#include "base/Error.h"
#include "base/Parse.h"

namespace quanta {

namespace {

constexpr const char *kDescription =
	"quanta: a single-threaded KVM hypervisor that time-shares one CPU between small VMs.";

constexpr const char *kFooter = R"(Examples:
  quanta -m 4 -p 2 -g guest.img
  quanta --memory 8 --page 4 --guest g1.img g2.img
  quanta --mode real -g hello16.bin
  quanta --mode real -g neo.bin morpheus.bin --share 70,30 --duration 3s
  quanta run experiments/matrix-70-30.toml [options...]   (an experiment file)
  quanta plot trace.json -o trace.svg                     (draw a --trace file)

Several guests run time-shared on one thread. Policies: stride (default:
proportional share of measured CPU time), frac (the Matrix assignment's
FRAC_A/FRAC_B quanta), rr (one quantum each) and io (switch at every I/O
exit). With two guests the VMs are named Neo and Morpheus unless --name says
otherwise. Standard input goes to the first VM (or --stdin NAME); the others
read end of input.

Exit status: 0 all guests halted, 1 a guest faulted, 2 bad command line or
image, 3 host error (no usable /dev/kvm, a KVM ioctl failed).)";

std::uint64_t parseAddress(const std::string &option, const std::string &text)
{
	auto value = parseUnsigned(text);
	if (!value)
		throw UsageError(fmt::format("{}: '{}' is not an address (decimal or 0x hex)", option, text));
	return *value;
}

std::vector<std::string> splitList(const std::string &text)
{
	std::vector<std::string> items;
	std::size_t start = 0;
	for (;;) {
		std::size_t comma = text.find(',', start);
		items.push_back(text.substr(start, comma - start));
		if (comma == std::string::npos)
			return items;
		start = comma + 1;
	}
}

std::uint64_t parseSize(const std::string &option, const std::string &text)
{
	std::uint64_t multiplier = 1;
	std::string digits = text;
	if (!digits.empty()) {
		switch (digits.back()) {
		case 'K':
			multiplier = 1ull << 10;
			break;
		case 'M':
			multiplier = 1ull << 20;
			break;
		case 'G':
			multiplier = 1ull << 30;
			break;
		}
		if (multiplier != 1)
			digits.pop_back();
	}
	auto value = parseUnsigned(digits);
	if (!value || *value == 0 || *value > (1ull << 62) / multiplier)
		throw UsageError(fmt::format("{}: '{}' is not a size (e.g. 4096, 64K, 16M)", option, text));
	return *value * multiplier;
}

Nanos parseDurationOption(const std::string &option, const std::string &text)
{
	auto value = parseDuration(text);
	if (!value)
		throw UsageError(fmt::format("{}: '{}' is not a duration (e.g. 10ms, 250us, 3s)", option, text));
	return *value;
}

std::vector<std::uint64_t> parseShares(const std::string &text, std::size_t guests)
{
	std::vector<std::uint64_t> shares;
	for (const std::string &item : splitList(text)) {
		auto value = parseUnsigned(item);
		if (!value || *value == 0 || *value > 1'000'000)
			throw UsageError(fmt::format(
				"--share: '{}' is not a positive whole number (shares are weights like 70,30)", item));
		shares.push_back(*value);
	}
	if (shares.size() != guests)
		throw UsageError(fmt::format("--share: {} value{} for {} guest{}", shares.size(),
					     shares.size() == 1 ? "" : "s", guests, guests == 1 ? "" : "s"));
	return shares;
}

ChannelSpec parseChannel(const std::string &text, const std::vector<std::string> &vms, std::size_t index)
{
	auto bad = [&](const std::string &why) {
		return UsageError(fmt::format("--channel {}: {} (expected FROM:TO[,slots=N][,size=BYTES][,name=NAME])",
					      text, why));
	};
	std::vector<std::string> parts = splitList(text);
	std::size_t colon = parts[0].find(':');
	if (colon == std::string::npos)
		throw bad("no FROM:TO");
	auto vmIndex = [&](const std::string &name) {
		auto it = std::find(vms.begin(), vms.end(), name);
		if (it == vms.end())
			throw bad(fmt::format("no VM named '{}'", name));
		return static_cast<std::size_t>(it - vms.begin());
	};
	ChannelSpec spec;
	spec.producer = vmIndex(parts[0].substr(0, colon));
	spec.consumer = vmIndex(parts[0].substr(colon + 1));
	if (spec.producer == spec.consumer)
		throw bad("a channel joins two different VMs");
	spec.name = fmt::format("ch{}", index);
	for (std::size_t i = 1; i < parts.size(); ++i) {
		std::size_t eq = parts[i].find('=');
		std::string key = parts[i].substr(0, eq);
		std::string value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
		if (key == "name" && !value.empty()) {
			spec.name = value;
			continue;
		}
		auto number = parseUnsigned(value);
		if (key == "slots" && number && *number >= 1 && *number <= 4096)
			spec.slots = static_cast<std::uint32_t>(*number);
		else if (key == "size" && number && *number >= 1 && *number <= 65536)
			spec.maxSize = static_cast<std::uint32_t>(*number);
		else
			throw bad(fmt::format("bad setting '{}' (slots 1-4096, size 1-65536 bytes, name)", parts[i]));
	}
	return spec;
}

// One mode for every guest, or one per guest (an experiment file may mix
// a real-mode guest with a long-mode one). Empty: each image's default.
std::vector<CpuMode> parseModes(const std::string &text, std::size_t guests)
{
	std::vector<CpuMode> modes;
	if (text.empty())
		return modes;
	for (const std::string &item : splitList(text)) {
		auto mode = parseCpuMode(item);
		if (!mode)
			throw UsageError(fmt::format("--mode: '{}' is not a CPU mode (real, protected, paged or long)", item));
		modes.push_back(*mode);
	}
	if (modes.size() != 1 && modes.size() != guests)
		throw UsageError(fmt::format("--mode: {} modes for {} guest{} (give one, or one per guest)", modes.size(),
					     guests, guests == 1 ? "" : "s"));
	return modes;
}

// Default VM names: Neo and Morpheus for the classic pair, otherwise the
// image's file name without extension, made unique.
std::vector<std::string> defaultNames(const std::vector<std::string> &paths)
{
	if (paths.size() == 2)
		return { "Neo", "Morpheus" };
	std::vector<std::string> names;
	std::set<std::string> seen;
	for (const auto &path : paths) {
		std::string stem = std::filesystem::path(path).stem().string();
		if (stem.empty())
			stem = "guest";
		std::string name = stem;
		for (int n = 2; seen.count(name); ++n)
			name = fmt::format("{}-{}", stem, n);
		seen.insert(name);
		names.push_back(name);
	}
	return names;
}

} // namespace

CommandLine parseCommandLine(const std::vector<std::string> &args)
{
	CLI::App app{ kDescription, "quanta" };
	app.footer(kFooter);
	app.set_version_flag("-V,--version", "quanta 0.1.0");

	unsigned memoryMiB = 2;
	unsigned pageKind = 4;
	std::vector<std::string> images;
	std::vector<std::string> files;
	std::string mode;
	std::string load = "0";
	std::string entry;
	std::string csBase;
	std::string unknownPorts = "fault";
	bool noPrefix = false;
	bool kvmCheck = false;
	std::string policy = "stride";
	std::string quantum = "10ms";
	std::string shares;
	std::string names;
	std::string duration;
	std::string stdinVm;
	std::string statsJson;
	std::string seed;
	std::string filesDir = ".";
	std::string fileMaxSize = "64M";
	std::vector<std::string> channels;
	bool report = false;
	bool noReport = false;
	std::string tracePath;
	std::string traceCsv;
	std::string traceLevel = "slices";
	std::string plotPath;
	bool explain = false;
	bool noStatus = false;

	app.add_option("-m,--memory", memoryMiB, "guest memory in MiB: 2, 4 or 8")
		->check(CLI::IsMember({ 2u, 4u, 8u }))
		->default_val(2);
	app.add_option("-p,--page", pageKind, "page size: 4 (4 KiB) or 2 (2 MiB)")
		->check(CLI::IsMember({ 2u, 4u }))
		->default_val(4);
	app.add_option("-g,--guest", images, "guest images (ELF32, ELF64 or flat binary), one VM each")
		->expected(1, -1);
	app.add_option("-f,--file", files, "files shared with every guest")->expected(1, -1);
	app.add_option("--files-dir", filesDir, "where guests' new local files (NAME.local<ID>) are created (default .)");
	app.add_option("--file-max-size", fileMaxSize, "largest size a guest may grow a file to: bytes, or with K, M, G (default 64M)");
	app.add_option("--mode", mode,
		       "CPU mode: real, protected, paged or long (default: long; ELF32 images: protected); "
		       "or one per guest, e.g. real,long");
	app.add_option("--load", load, "load address of flat images (default 0)");
	app.add_option("--entry", entry, "entry point of flat images (default: the load address)");
	app.add_option("--cs-base", csBase, "real mode: code segment base (default: the load address)");
	app.add_option("--unknown-ports", unknownPorts,
		       "what an access to an unknown port does: fault (stop the VM) or ignore (count it, IN reads all ones)")
		->check(CLI::IsMember({ "fault", "ignore" }));
	app.add_flag("--kvm-check", kvmCheck,
		     "boot a tiny guest in every CPU mode and page size, report which work, and exit");
	app.add_flag("--no-prefix", noPrefix, "with several VMs, do not prefix output lines with the VM name");
	app.add_option("--policy", policy, "scheduling policy: stride (default), frac, rr or io")
		->check(CLI::IsMember({ "stride", "frac", "rr", "io" }));
	app.add_option("--quantum", quantum, "slice length, with a unit: us, ms or s (default 10ms)");
	app.add_option("--share", shares, "CPU shares, one per guest in -g order, e.g. 70,30 (default: equal)");
	app.add_option("--name", names, "VM names, one per guest in -g order, e.g. Neo,Morpheus");
	app.add_option("--duration", duration, "stop every VM after this long, e.g. 10s");
	app.add_option("--stdin", stdinVm, "the VM (by name) that reads standard input (default: the first)");
	app.add_option("--channel", channels,
		       "a channel between two VMs: FROM:TO[,slots=N][,size=BYTES][,name=NAME] (VM names; repeatable; default 6 slots of 256 bytes)")
		->take_last()
		->expected(1)
		->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
	app.add_option("--seed", seed, "seed for the guests' random hypercall, for reproducible runs (default: random)");
	app.add_option("--stats-json", statsJson, "write the run's report as JSON to this file");
	app.add_flag("--report", report, "print the report table at exit (default: with several VMs, or when a signal or --duration ends the run)");
	app.add_flag("--no-report", noReport, "never print the report table");
	app.add_option("--trace", tracePath, "write every slice (and with --trace-level exits, every exit) as a Chrome trace (JSON for Perfetto or chrome://tracing)");
	app.add_option("--trace-csv", traceCsv, "write the same trace as CSV");
	app.add_option("--trace-level", traceLevel, "what the trace records: slices (default) or exits (also every KVM_RUN and its exit)")
		->check(CLI::IsMember({ "slices", "exits" }));
	app.add_option("--plot", plotPath, "draw the run as an SVG: timeline per VM and cumulative shares against targets");
	app.add_flag("--explain", explain, "print every KVM call of the setup and the first slices of the run loop, each with its reason (stderr)");
	app.add_flag("--no-status", noStatus, "no live status line (it is shown only when stderr is a terminal)");

	std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
	CommandLine result;
	try {
		app.parse(reversed);
	} catch (const CLI::CallForHelp &) {
		result.message = app.help();
		return result;
	} catch (const CLI::CallForVersion &e) {
		result.message = std::string(e.what()) + "\n";
		return result;
	} catch (const CLI::ParseError &e) {
		result.exitCode = kExitUsage;
		result.messageIsError = true;
		result.message = fmt::format("quanta: {} (see --help)\n", e.what());
		return result;
	}

	if (images.empty() && !kvmCheck) {
		result.exitCode = kExitUsage;
		result.messageIsError = true;
		result.message = "quanta: --guest is required (see --help)\n";
		return result;
	}

	try {
		Options options;
		options.kvmCheck = kvmCheck;
		options.unknownPorts = unknownPorts == "ignore" ? UnknownPortPolicy::Ignore
								: UnknownPortPolicy::Fault;
		options.prefixOutput = !noPrefix;
		options.sharedFiles = files;
		options.filesDir = filesDir;
		options.fileMaxSize = parseSize("--file-max-size", fileMaxSize);
		options.policy = *sched::parsePolicy(policy);
		options.quantum = parseDurationOption("--quantum", quantum);
		if (!duration.empty())
			options.duration = parseDurationOption("--duration", duration);
		options.shares = shares.empty() ? std::vector<std::uint64_t>(images.size(), 1)
						: parseShares(shares, images.size());
		options.report = noReport ? Options::ReportMode::Never
				 : report ? Options::ReportMode::Always
					  : Options::ReportMode::Auto;
		options.statsJsonPath = statsJson;
		options.tracePath = tracePath;
		options.traceCsvPath = traceCsv;
		options.traceLevel = *trace::parseLevel(traceLevel);
		options.plotPath = plotPath;
		options.explain = explain;
		options.status = !noStatus;
		if (!seed.empty()) {
			options.seed = parseUnsigned(seed);
			if (!options.seed)
				throw UsageError(fmt::format("--seed: '{}' is not a whole number", seed));
		}

		std::vector<std::string> vmNames = defaultNames(images);
		if (!names.empty()) {
			vmNames = splitList(names);
			if (vmNames.size() != images.size())
				throw UsageError(fmt::format("--name: {} name{} for {} guest{}", vmNames.size(),
							     vmNames.size() == 1 ? "" : "s", images.size(),
							     images.size() == 1 ? "" : "s"));
			std::set<std::string> unique(vmNames.begin(), vmNames.end());
			for (const auto &name : vmNames)
				if (name.empty())
					throw UsageError("--name: empty VM name");
			if (unique.size() != vmNames.size())
				throw UsageError("--name: VM names must be unique");
		}
		if (!stdinVm.empty()) {
			auto it = std::find(vmNames.begin(), vmNames.end(), stdinVm);
			if (it == vmNames.end())
				throw UsageError(fmt::format("--stdin: no VM named '{}'", stdinVm));
			options.stdinVm = static_cast<std::size_t>(it - vmNames.begin());
		}
		for (const std::string &text : channels)
			options.channels.push_back(parseChannel(text, vmNames, options.channels.size()));
		std::vector<CpuMode> modes = parseModes(mode, images.size());
		for (std::size_t i = 0; i < images.size(); ++i) {
			GuestConfig guest;
			guest.name = vmNames[i];
			guest.imagePath = images[i];
			guest.memoryBytes = std::uint64_t{ memoryMiB } << 20;
			guest.pageSize = pageKind == 2 ? PageSize::Size2M : PageSize::Size4K;
			if (!modes.empty())
				guest.mode = modes.size() == 1 ? modes[0] : modes[i];
			guest.flatLoad = parseAddress("--load", load);
			if (!entry.empty())
				guest.flatEntry = parseAddress("--entry", entry);
			if (!csBase.empty())
				guest.csBase = parseAddress("--cs-base", csBase);
			options.guests.push_back(std::move(guest));
		}
		result.options = std::move(options);
	} catch (const UsageError &e) {
		result.exitCode = kExitUsage;
		result.messageIsError = true;
		result.message = fmt::format("quanta: {}\n", e.what());
	}
	return result;
}

} // namespace quanta
