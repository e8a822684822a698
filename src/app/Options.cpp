#include "app/Options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <sched.h>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "app/HvtCommand.h"
#include "base/Error.h"
#include "base/Parse.h"
#include "hvt/HvtImage.h"

namespace quanta {

namespace {

constexpr const char *kDescription =
	"quanta: a single-threaded KVM hypervisor that time-shares one CPU between small VMs.";

constexpr const char *kFooter = R"(Examples:
  quanta -m 4 -p 2 -g guest.img
  quanta --memory 64M --page 2 --guest g1.img g2.img
  quanta --mode real -g hello16.bin
  quanta --mode real -g neo.bin morpheus.bin --name Neo,Morpheus --share 70,30 --duration 3s
  quanta run experiments/matrix-70-30.toml [options...]   (an experiment file)
  quanta plot trace.json -o trace.svg                     (draw a --trace file)

Several guests run time-shared on one thread. Policies: stride (default:
proportional share of measured CPU time), frac (the Matrix assignment's
FRAC_A/FRAC_B quanta), rr (one quantum each) and io (switch at every I/O
exit). VMs are named after their images (hello64, hello64-2, ...) unless
--name says otherwise. Standard input goes to the first VM (or --stdin
NAME); the others read end of input.

Memory (-m): the page tables live in 48 KiB at the top of guest memory, so
long mode maps up to 18 MiB with 4 KiB pages and 10 GiB with 2 MiB pages
(-p 2); paged mode up to 44 MiB (4 KiB) and 4 GiB (2 MiB); real and
protected mode up to 4 GiB. Memory is mapped lazily: a guest costs the host
only the pages it touches.

Exit status: 0 all guests halted, 1 a guest faulted, 2 bad command line or
image, 3 host error (no usable /dev/kvm, a CPU mode this KVM cannot run: see
--kvm-check, a KVM ioctl failed).)";

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

std::string plural(std::size_t n, const char *word)
{
	return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// Sizes: a number, with K, M or G (KiB, MiB, GiB); bareUnit applies to a
// number without one.
std::optional<std::uint64_t> parseSizeWithUnit(std::string text, std::uint64_t bareUnit)
{
	std::uint64_t multiplier = bareUnit;
	for (const auto &[suffix, unit] : std::initializer_list<std::pair<std::string_view, std::uint64_t>>{
		     { "KiB", 1ull << 10 },
		     { "MiB", 1ull << 20 },
		     { "GiB", 1ull << 30 },
		     { "K", 1ull << 10 },
		     { "M", 1ull << 20 },
		     { "G", 1ull << 30 },
	     }) {
		if (text.size() > suffix.size() && std::string_view(text).ends_with(suffix)) {
			text.resize(text.size() - suffix.size());
			multiplier = unit;
			break;
		}
	}
	auto value = parseUnsigned(text);
	if (!value || *value == 0 || *value > (1ull << 62) / multiplier)
		return std::nullopt;
	return *value * multiplier;
}

std::uint64_t address(const OptionValue &value)
{
	std::string text = value.textOrNumber("an address (decimal or 0x hex)");
	auto number = parseUnsigned(text);
	if (!number)
		value.fail(fmt::format("'{}' is not an address (decimal or 0x hex)", text));
	return *number;
}

Nanos duration(const OptionValue &value)
{
	std::string text = value.textOrNumber("a duration such as \"10ms\"");
	auto nanos = parseDurationValue(text);
	if (!nanos)
		value.fail(fmt::format("'{}' is not a duration (e.g. 10ms, 250us, 3s)", text));
	if (*nanos < 1)
		value.fail(fmt::format("'{}' must be positive", text));
	if (*nanos > 1e18)
		value.fail(fmt::format("'{}' is too long (at most 31 years)", text));
	return static_cast<Nanos>(std::llround(*nanos));
}

ChannelSetting parseChannel(const OptionValue &value, const std::string &text)
{
	auto bad = [&](const std::string &why) {
		value.fail(fmt::format("{}: {} (expected FROM:TO[,slots=N][,size=BYTES][,name=NAME])", text, why));
	};
	std::vector<std::string> parts = splitList(text);
	std::size_t colon = parts[0].find(':');
	if (colon == std::string::npos)
		bad("no FROM:TO");
	ChannelSetting channel;
	channel.from = parts[0].substr(0, colon);
	channel.to = parts[0].substr(colon + 1);
	channel.where = fmt::format("{} {}", value.where, text);
	for (std::size_t i = 1; i < parts.size(); ++i) {
		std::size_t eq = parts[i].find('=');
		std::string key = parts[i].substr(0, eq);
		std::string setting = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
		if (key == "name" && !setting.empty()) {
			channel.name = setting;
			continue;
		}
		auto number = parseUnsigned(setting);
		if (key == "slots" && number && *number >= 1 && *number <= 4096)
			channel.slots = static_cast<std::uint32_t>(*number);
		else if (key == "size" && number && *number >= 1 && *number <= 65536)
			channel.maxSize = static_cast<std::uint32_t>(*number);
		else
			bad(fmt::format("bad setting '{}' (slots 1-4096, size 1-65536 bytes, name)", parts[i]));
	}
	return channel;
}

template <typename T>
T member(const OptionValue &value, const std::string &text, std::optional<T> (*parse)(std::string_view),
	 const char *what)
{
	auto parsed = parse(text);
	if (!parsed)
		value.fail(fmt::format("'{}' is not {}", text, what));
	return *parsed;
}

// A port number: decimal or 0x hex, at most 0xFFFF.
std::uint16_t portNumber(const OptionValue &value, const std::string &text)
{
	auto number = parseUnsigned(text);
	if (!number || *number > 0xFFFF)
		value.fail(fmt::format("'{}' is not a port number (0 to 0xFFFF, decimal or 0x hex)", text));
	return static_cast<std::uint16_t>(*number);
}

// Every comma-separated item of every value (a file's list, or "a,b").
std::vector<std::string> items(const OptionValue &value, const char *what)
{
	std::vector<std::string> all;
	for (const std::string &text : value.list(what))
		for (std::string &item : splitList(text))
			all.push_back(std::move(item));
	return all;
}

// NAME=PORT,... over the default ports; the whole table is checked.
AssignmentPorts hypercallPorts(const OptionValue &value)
{
	AssignmentPorts ports;
	for (const std::string &item : items(value, "NAME=PORT pairs such as \"printStr=0x80\"")) {
		std::size_t eq = item.find('=');
		std::string name = item.substr(0, eq);
		auto call = parseAssignmentCall(name);
		if (eq == std::string::npos || !call)
			value.fail(fmt::format("'{}' is not NAME=PORT with NAME one of printStr, print32bit, numExits, "
					       "numExitsByType, gvaToHva, gvaToHva.in",
					       item));
		ports.set(*call, portNumber(value, item.substr(eq + 1)));
	}
	if (std::string why = checkAssignmentPorts(ports); !why.empty())
		value.fail(why);
	return ports;
}

// Default VM names: each image's file name without extension, made unique
// ("hello64", "hello64-2"). Linear: each stem remembers its next number.
std::vector<std::string> defaultNames(const std::vector<std::string> &paths)
{
	std::vector<std::string> names;
	std::unordered_set<std::string> taken;
	std::unordered_map<std::string, int> nextSuffix;
	for (const auto &path : paths) {
		std::string stem = std::filesystem::path(path).stem().string();
		if (stem.empty())
			stem = "guest";
		std::string name = stem;
		if (taken.count(name)) {
			int &n = nextSuffix.try_emplace(stem, 2).first->second;
			do
				name = fmt::format("{}-{}", stem, n++);
			while (taken.count(name));
		}
		taken.insert(name);
		names.push_back(std::move(name));
	}
	return names;
}

// A repeatable hvt device or command-line option: replaces what the same
// option said before (a later file or command line wins, as for channels).
void setHvt(Settings &s, const char *option, const OptionValue &value)
{
	std::erase_if(s.hvt, [&](const Settings::HvtSetting &h) { return h.option == option; });
	for (const std::string &text : value.list("a list of VM:NAME=VALUE settings"))
		s.hvt.push_back({ option, text, value.where });
}

// Applies the hvt settings to their guests; throws UsageError.
void applyHvt(const Settings &settings, Options &options, const std::function<std::size_t(const std::string &, const std::string &)> &vmIndex)
{
	for (const Settings::HvtSetting &h : settings.hvt) {
		const bool cmdline = h.option == "--cmdline";
		std::size_t split = h.text.find(cmdline ? '=' : ':');
		if (split == std::string::npos || split == 0)
			throw UsageError(fmt::format("{}: '{}' is not {}", h.where, h.text,
						     cmdline ? "VM=ARGS" : "VM:NAME=VALUE"));
		GuestConfig &guest = options.guests[vmIndex(h.text.substr(0, split), h.where)];
		std::string rest = h.text.substr(split + 1);
		if (cmdline) {
			guest.hvt.args = { rest };
			continue;
		}
		auto assignment = parseDeviceAssignment(rest);
		if (!assignment)
			throw UsageError(fmt::format("{}: '{}' is not VM:NAME=VALUE (NAME: 1-67 letters and digits)", h.where,
						     h.text));
		auto &[name, value] = *assignment;
		hvt::DeviceArgs &devices = guest.hvt.devices;
		if (h.option == "--block") {
			devices.blockPaths[name] = value;
		} else if (h.option == "--net") {
			devices.netTargets[name] = value;
		} else if (h.option == "--net-mac") {
			auto mac = parseMac(value);
			if (!mac)
				throw UsageError(fmt::format("{}: '{}' is not a MAC address (xx:xx:xx:xx:xx:xx)", h.where, value));
			devices.netMacs[name] = *mac;
		} else {
			auto size = parseUnsigned(value);
			try {
				devices.sectorSizes[name] = hvt::checkSectorSize(size.value_or(0));
			} catch (const UsageError &e) {
				throw UsageError(fmt::format("{}: {}", h.where, e.what()));
			}
		}
	}
}

// The options, each defined once (see OptionDef). Order is --help's order;
// values are applied in this order too, so --no-report after --report wins.
std::vector<OptionDef> makeTable()
{
	using K = OptionKind;
	using S = Settings;
	using V = OptionValue;
	return {
		{ "--memory", "-m", "memory", K::Value, "2",
		  "guest memory: a size with a unit (64M, 1G) or a number of MiB; the limits by mode and page size are below",
		  [](S &s, const V &v) {
			  std::string text = v.textOrNumber("a size such as \"64M\" or a whole number of MiB");
			  auto bytes = parseMemorySize(text);
			  if (!bytes)
				  v.fail(fmt::format("'{}' is not a size (e.g. 2, 64M, 1G; a bare number is MiB)", text));
			  s.memoryBytes = *bytes;
			  s.memoryWhere = v.where;
		  },
		  false, false, "SIZE" },
		{ "--page", "-p", "page", K::Value, "4", "page size: 4 (4 KiB) or 2 (2 MiB)",
		  [](S &s, const V &v) {
			  std::uint64_t kind = v.whole("2 or 4");
			  if (kind != 2 && kind != 4)
				  v.fail(fmt::format("'{}' is not a page size (2 for 2 MiB, 4 for 4 KiB)", kind));
			  s.pageSize = kind == 2 ? PageSize::Size2M : PageSize::Size4K;
		  },
		  false, false, "2|4" },
		{ "--guest", "-g", "vm.image", K::Values, nullptr, "guest images (ELF32, ELF64 or flat binary), one VM each",
		  [](S &s, const V &v) { s.images = v.list("a list of image files"); }, false, true, "IMAGE" },
		{ "--file", "-f", "files", K::Values, nullptr, "files shared with every guest",
		  [](S &s, const V &v) { s.options.sharedFiles = v.list("a list of file names"); }, false, true,
		  "FILE" },
		{ "--files-dir", nullptr, "files_dir", K::Value, ".",
		  "where guests' new local files (NAME.local<ID>) are created",
		  [](S &s, const V &v) { s.options.filesDir = v.text("a directory name"); }, false, false, "DIR" },
		{ "--file-max-size", nullptr, "file_max_size", K::Value, "64M",
		  "largest size a guest may grow a file to: bytes, or with K, M, G",
		  [](S &s, const V &v) {
			  std::string text = v.textOrNumber("a size such as \"64M\" or a number of bytes");
			  auto bytes = parseSizeWithUnit(text, 1);
			  if (!bytes)
				  v.fail(fmt::format("'{}' is not a size (e.g. 4096, 64K, 16M)", text));
			  s.options.fileMaxSize = *bytes;
		  },
		  false, false, "SIZE" },
		{ "--file-quota", nullptr, "file_quota", K::Value, "64,256M",
		  "how many files a guest may create or copy, and their total size: COUNT,SIZE",
		  [](S &s, const V &v) {
			  std::string text = v.text("COUNT,SIZE such as \"64,256M\"");
			  auto comma = text.find(',');
			  auto count = comma == std::string::npos ? std::nullopt : parseUnsigned(text.substr(0, comma));
			  auto bytes = count ? parseSizeWithUnit(text.substr(comma + 1), 1) : std::nullopt;
			  if (!bytes)
				  v.fail(fmt::format("'{}' is not COUNT,SIZE (e.g. 64,256M)", text));
			  s.options.fileQuotaFiles = *count;
			  s.options.fileQuotaBytes = *bytes;
		  },
		  false, false, "COUNT,SIZE" },
		{ "--mode", nullptr, "mode", K::Value, nullptr,
		  "CPU mode: real, protected, paged or long (default: long; ELF32 images: protected); "
		  "or one per guest, e.g. real,long",
		  [](S &s, const V &v) {
			  s.modes.clear();
			  s.modesWhere = v.where;
			  s.modesPerGuest = false;
			  for (const std::string &item : splitList(v.text("a CPU mode such as \"real\"")))
				  s.modes.push_back(member<CpuMode>(v, item, parseCpuMode,
								    "a CPU mode (real, protected, paged or long)"));
		  },
		  false, false, "MODE" },
		{ "--load", nullptr, "load", K::Value, "0", "load address of flat images",
		  [](S &s, const V &v) { s.flatLoad = address(v); }, false, false, "ADDR" },
		{ "--entry", nullptr, "entry", K::Value, nullptr, "entry point of flat images (default: the load address)",
		  [](S &s, const V &v) { s.flatEntry = address(v); }, false, false, "ADDR" },
		{ "--cs-base", nullptr, "cs_base", K::Value, nullptr,
		  "real mode: code segment base (default: the load address)",
		  [](S &s, const V &v) { s.csBase = address(v); }, false, false, "ADDR" },
		{ "--unknown-ports", nullptr, "unknown_ports", K::Value, "fault",
		  "what an access to an unknown port does: fault (stop the VM) or ignore (count it, IN reads all ones)",
		  [](S &s, const V &v) {
			  std::string text = v.text("\"fault\" or \"ignore\"");
			  if (text != "fault" && text != "ignore")
				  v.fail(fmt::format("'{}' is not fault or ignore", text));
			  s.options.unknownPorts =
				  text == "ignore" ? UnknownPortPolicy::Ignore : UnknownPortPolicy::Fault;
		  },
		  false, false, "fault|ignore" },
		{ "--kvm-check", nullptr, nullptr, K::Flag, nullptr,
		  "boot a tiny guest in every CPU mode and page size, report which work, and exit",
		  [](S &s, const V &v) { s.options.kvmCheck = v.flag(); } },
		{ "--no-prefix", nullptr, "prefix", K::Flag, nullptr,
		  "with several VMs, do not prefix output lines with the VM name",
		  [](S &s, const V &v) { s.options.prefixOutput = v.flag(); }, true },
		{ "--policy", nullptr, "policy", K::Value, "stride", "scheduling policy: stride, frac, rr or io",
		  [](S &s, const V &v) {
			  s.options.policy = member<sched::Policy>(v, v.text("a policy such as \"stride\""), sched::parsePolicy,
								   "a policy (stride, frac, rr or io)");
		  },
		  false, false, "POLICY" },
		{ "--quantum", nullptr, "quantum", K::Value, "10ms", "slice length, with a unit: us, ms or s",
		  [](S &s, const V &v) { s.options.quantum = duration(v); }, false, false, "DURATION" },
		{ "--share", nullptr, "vm.share", K::Value, nullptr,
		  "CPU shares, one per guest in -g order, e.g. 70,30 (default: equal)",
		  [](S &s, const V &v) {
			  s.shares.clear();
			  s.sharesWhere = v.where;
			  for (const std::string &item : splitList(v.text("shares such as \"70,30\"")))
				  s.shares.push_back(shareValue({ item, v.where }));
		  },
		  false, false, "LIST" },
		{ "--name", nullptr, "vm.name", K::Value, nullptr,
		  "VM names, one per guest in -g order, e.g. Neo,Morpheus (default: the image file names)",
		  [](S &s, const V &v) {
			  s.names = splitList(v.text("names such as \"Neo,Morpheus\""));
			  s.namesWhere = v.where;
		  },
		  false, false, "LIST" },
		{ "--duration", nullptr, "duration", K::Value, nullptr, "stop every VM after this long, e.g. 10s",
		  [](S &s, const V &v) { s.options.duration = duration(v); }, false, false, "DURATION" },
		{ "--stdin", nullptr, "stdin", K::Value, nullptr,
		  "the VM (by name) that reads standard input (default: the first)",
		  [](S &s, const V &v) {
			  s.stdinVm = v.text("a VM name");
			  s.stdinWhere = v.where;
		  },
		  false, false, "NAME" },
		{ "--channel", nullptr, "channel", K::Repeated, nullptr,
		  "a channel between two VMs: FROM:TO[,slots=N][,size=BYTES][,name=NAME] (VM names; repeatable; "
		  "default 6 slots of 256 bytes)",
		  [](S &s, const V &v) {
			  s.channels.clear();
			  for (const std::string &text : v.list("channels"))
				  s.channels.push_back(parseChannel(v, text));
		  },
		  false, false, "SPEC" },
		{ "--seed", nullptr, "seed", K::Value, nullptr,
		  "seed for the guests' random hypercall, for reproducible runs (default: random)",
		  [](S &s, const V &v) { s.options.seed = v.whole("a whole number"); }, false, false, "N" },
		{ "--cpu", nullptr, "cpu", K::Value, nullptr,
		  "pin quanta's thread to this CPU (sched_setaffinity), recorded in the JSON metadata",
		  [](S &s, const V &v) {
			  std::uint64_t cpu = v.whole("a CPU number");
			  if (cpu >= CPU_SETSIZE)
				  v.fail(fmt::format("{} is not a CPU number (0 to {})", cpu, CPU_SETSIZE - 1));
			  s.options.cpu = static_cast<int>(cpu);
		  },
		  false, false, "N" },
		{ "--realtime", nullptr, "realtime", K::Flag, nullptr,
		  "run quanta's thread under SCHED_FIFO so other tasks cannot preempt a slice (needs root or "
		  "CAP_SYS_NICE; otherwise a warning and the normal scheduler), recorded in the report",
		  [](S &s, const V &v) { s.options.realtime = v.flag(); } },
		{ "--stats-json", nullptr, "stats_json", K::Value, nullptr, "write the run's report as JSON to this file",
		  [](S &s, const V &v) { s.options.statsJsonPath = v.text("a file name"); }, false, false, "FILE" },
		{ "--report", nullptr, "report", K::Flag, nullptr,
		  "print the report table at exit (default: with several VMs, or when a signal or --duration ends the run)",
		  [](S &s, const V &v) {
			  s.report = v.flag();
			  s.noReport = !v.flag();
		  } },
		{ "--no-report", nullptr, "report", K::Flag, nullptr, "never print the report table",
		  [](S &s, const V &v) {
			  s.report = v.flag();
			  s.noReport = !v.flag();
		  },
		  true },
		{ "--report-exits", nullptr, "report_exits", K::Flag, nullptr,
		  "print the exit table at exit: per exit reason and port, count, share and handling time, as perf kvm "
		  "stat (also in --stats-json)",
		  [](S &s, const V &v) { s.options.reportExits = v.flag(); } },
		{ "--trace", nullptr, "trace", K::Value, nullptr,
		  "write every slice (and with --trace-level exits, every exit) as a Chrome trace (JSON for Perfetto or "
		  "chrome://tracing)",
		  [](S &s, const V &v) { s.options.tracePath = v.text("a file name"); }, false, false, "FILE" },
		{ "--trace-csv", nullptr, "trace_csv", K::Value, nullptr, "write the same trace as CSV",
		  [](S &s, const V &v) { s.options.traceCsvPath = v.text("a file name"); }, false, false, "FILE" },
		{ "--trace-level", nullptr, "trace_level", K::Value, "slices",
		  "what the trace records: slices or exits (also every KVM_RUN and its exit)",
		  [](S &s, const V &v) {
			  s.options.traceLevel =
				  member<trace::Level>(v, v.text("\"slices\" or \"exits\""), trace::parseLevel, "a trace level (slices or exits)");
		  },
		  false, false, "LEVEL" },
		{ "--plot", nullptr, "plot", K::Value, nullptr,
		  "draw the run as an SVG: timeline per VM and cumulative shares against targets",
		  [](S &s, const V &v) { s.options.plotPath = v.text("a file name"); }, false, false, "FILE" },
		{ "--plot-style", nullptr, "plot_style", K::Value, "normal",
		  "how --plot draws: normal, or big (every font at least 16 px, for a projector)",
		  [](S &s, const V &v) {
			  s.options.plotStyle = member<trace::PlotStyle>(v, v.text("\"normal\" or \"big\""),
									 trace::parsePlotStyle, "a plot style (normal or big)");
		  },
		  false, false, "STYLE" },
		{ "--out-dir", nullptr, "out_dir", K::Value, nullptr,
		  "put output files given without a directory here (made if missing); quanta run: default a folder "
		  "named after the experiment, with a new numbered run-N folder for every run",
		  [](S &s, const V &v) {
			  s.options.outDir = v.text("a directory name");
			  if (s.options.outDir.empty())
				  v.fail("empty directory name");
		  },
		  false, false, "DIR" },
		{ "--hypercall-ports", nullptr, "hypercall_ports", K::Value, nullptr,
		  "move the CS695 assignment hypercalls to other ports: NAME=PORT,... with NAME printStr, print32bit, "
		  "numExits, numExitsByType, gvaToHva, gvaToHva.in (default 0xEA to 0xEF)",
		  [](S &s, const V &v) { s.options.hypercallPorts = hypercallPorts(v); }, false, false, "LIST" },
		{ "--echo-ports", nullptr, "echo_ports", K::Value, nullptr,
		  "print every value a guest writes to these ports as the Matrix assignment's hypervisor does "
		  "(\"out port: 16, data: 5\"), e.g. 0x10,0x11",
		  [](S &s, const V &v) {
			  s.options.echoPorts.clear();
			  for (const std::string &item : items(v, "ports such as \"0x10,0x11\""))
				  s.options.echoPorts.push_back(portNumber(v, item));
		  },
		  false, false, "PORTS" },
		{ "--explain", nullptr, "explain", K::Flag, nullptr,
		  "print every KVM call of the setup and the first slices of the run loop, each with its reason (stderr)",
		  [](S &s, const V &v) { s.options.explain = v.flag(); } },
		{ "--cmdline", nullptr, "cmdline", K::Repeated, nullptr,
		  "a Solo5 hvt guest's command line: VM=ARGS (repeatable)",
		  [](S &s, const V &v) { setHvt(s, "--cmdline", v); }, false, false, "VM=ARGS" },
		{ "--block", nullptr, "block", K::Repeated, nullptr,
		  "a Solo5 hvt guest's block device backed by a file: VM:NAME=PATH (repeatable)",
		  [](S &s, const V &v) { setHvt(s, "--block", v); }, false, false, "VM:NAME=PATH" },
		{ "--block-sector-size", nullptr, "block_sector_size", K::Repeated, nullptr,
		  "its sector size: VM:NAME=BYTES, a power of two from 512 (default 512)",
		  [](S &s, const V &v) { setHvt(s, "--block-sector-size", v); }, false, false, "VM:NAME=N" },
		{ "--net", nullptr, "net", K::Repeated, nullptr,
		  "a Solo5 hvt guest's network device: VM:NAME=IFACE (a host tap interface, or switch:SWITCH, a virtual switch "
		  "inside quanta) (repeatable)",
		  [](S &s, const V &v) { setHvt(s, "--net", v); }, false, false, "VM:NAME=IFACE" },
		{ "--net-mac", nullptr, "net_mac", K::Repeated, nullptr,
		  "its MAC address: VM:NAME=xx:xx:xx:xx:xx:xx (default: random, locally administered)",
		  [](S &s, const V &v) { setHvt(s, "--net-mac", v); }, false, false, "VM:NAME=MAC" },
		{ "--no-status", nullptr, "status", K::Flag, nullptr,
		  "no live status line (it is shown only when stderr is a terminal)",
		  [](S &s, const V &v) { s.options.status = v.flag(); }, true },
	};
}

// Levenshtein distance, for "did you mean".
std::size_t editDistance(std::string_view a, std::string_view b)
{
	std::vector<std::size_t> row(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); ++j)
		row[j] = j;
	for (std::size_t i = 1; i <= a.size(); ++i) {
		std::size_t diagonal = row[0];
		row[0] = i;
		for (std::size_t j = 1; j <= b.size(); ++j) {
			std::size_t above = row[j];
			row[j] = std::min({ row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1) });
			diagonal = above;
		}
	}
	return row[b.size()];
}

CommandLine usageError(const std::string &message)
{
	CommandLine result;
	result.exitCode = kExitUsage;
	result.messageIsError = true;
	result.message = fmt::format("quanta: {}\n", message);
	return result;
}

} // namespace

void OptionValue::fail(const std::string &why) const
{
	throw UsageError(fmt::format("{}: {}", where, why));
}

namespace {

// What kind of value a file gave, in plain words.
std::string describeType(const OptionValue &value)
{
	return std::visit(
		[](const auto &v) -> std::string {
			using T = std::decay_t<decltype(v)>;
			if constexpr (std::is_same_v<T, bool>)
				return fmt::format("true/false ({})", v);
			else if constexpr (std::is_same_v<T, std::int64_t>)
				return fmt::format("a number ({})", v);
			else if constexpr (std::is_same_v<T, double>)
				return fmt::format("a number with a fraction ({})", v);
			else if constexpr (std::is_same_v<T, std::string>)
				return fmt::format("text (\"{}\")", v);
			else if constexpr (std::is_same_v<T, std::vector<std::string>>)
				return "a list";
			else
				return "a table or a date";
		},
		value.data);
}

[[noreturn]] void typeError(const OptionValue &value, const char *what)
{
	throw UsageError(fmt::format("{} must be {}, not {}", value.where, what, describeType(value)));
}

} // namespace

bool OptionValue::flag() const
{
	if (auto b = std::get_if<bool>(&data))
		return *b;
	typeError(*this, "true or false");
}

std::string OptionValue::text(const char *what) const
{
	if (auto s = std::get_if<std::string>(&data))
		return *s;
	typeError(*this, what);
}

std::string OptionValue::textOrNumber(const char *what) const
{
	if (auto n = std::get_if<std::int64_t>(&data); n && *n >= 0)
		return std::to_string(*n);
	return text(what);
}

std::uint64_t OptionValue::whole(const char *what) const
{
	if (auto n = std::get_if<std::int64_t>(&data); n && *n >= 0)
		return static_cast<std::uint64_t>(*n);
	if (auto s = std::get_if<std::string>(&data)) {
		if (auto n = parseUnsigned(*s))
			return *n;
		fail(fmt::format("'{}' is not a whole number", *s));
	}
	typeError(*this, what);
}

std::vector<std::string> OptionValue::list(const char *what) const
{
	if (auto items = std::get_if<std::vector<std::string>>(&data))
		return *items;
	return { text(what) };
}

std::uint64_t shareValue(const OptionValue &value)
{
	std::string text = value.textOrNumber("a whole number such as 70");
	auto share = parseUnsigned(text);
	if (!share || *share == 0 || *share > 1'000'000)
		value.fail(fmt::format("'{}' is not a positive whole number (shares are weights like 70,30)", text));
	return *share;
}

void Settings::forgetGuests()
{
	names.clear();
	hvt.clear();
	shares.clear();
	channels.clear();
	if (modesPerGuest) {
		modes.clear();
		modesPerGuest = false;
	}
}

const std::vector<OptionDef> &optionTable()
{
	static const std::vector<OptionDef> table = makeTable();
	return table;
}

Settings defaultSettings()
{
	Settings settings;
	for (const OptionDef &def : optionTable())
		if (def.defaultValue)
			def.apply(settings, { std::string(def.defaultValue), def.longName });
	return settings;
}

void applyKey(Settings &settings, const std::string &key, const OptionValue &value)
{
	// A key shared by a flag and its negation (report: --report and
	// --no-report) goes to the flag; a negation alone (prefix: --no-prefix)
	// takes the key's own meaning (prefix = false).
	const OptionDef *match = nullptr;
	for (const OptionDef &def : optionTable())
		if (def.key && key == def.key && (!match || match->negated))
			match = &def;
	if (match)
		return match->apply(settings, value);
	throw UsageError(fmt::format("{}: unknown key '{}'", value.where, key));
}

std::optional<std::uint64_t> parseMemorySize(const std::string &text)
{
	return parseSizeWithUnit(text, 1ull << 20);
}

std::string closestName(const std::string &given, const std::vector<std::string> &names)
{
	std::string best;
	std::size_t bestDistance = 3; // further than this is a different word
	for (const std::string &name : names) {
		std::size_t distance = editDistance(given, name);
		if (distance < bestDistance) {
			bestDistance = distance;
			best = name;
		}
	}
	return best;
}

std::string closestOption(const std::string &given)
{
	std::vector<std::string> names{ "--help", "--version" };
	for (const OptionDef &def : optionTable())
		names.push_back(def.longName);
	return closestName(given, names);
}

bool isOptionKey(const std::string &key)
{
	return std::any_of(optionTable().begin(), optionTable().end(),
			   [&](const OptionDef &def) { return def.key && key == def.key; });
}

Options resolve(const Settings &settings, std::vector<std::string> *warnings)
{
	Options options = settings.options;
	const std::size_t guests = settings.images.size();
	options.report = settings.noReport ? Options::ReportMode::Never
			 : settings.report ? Options::ReportMode::Always
					   : Options::ReportMode::Auto;
	if (settings.shares.empty())
		options.shares.assign(guests, 1);
	else if (settings.shares.size() != guests)
		throw UsageError(fmt::format("{}: {} for {}", settings.sharesWhere,
					     plural(settings.shares.size(), "value"), plural(guests, "guest")));
	else
		options.shares = settings.shares;
	if (warnings && options.quantum < kShortestHonouredQuantum)
		warnings->push_back(fmt::format(
			"quanta: warning: a quantum of {}us is shorter than this host can honour (about 100us: the timer "
			"signal and KVM entry take tens of microseconds); slices will overrun it",
			options.quantum / 1000.0));

	std::vector<std::string> vmNames = defaultNames(settings.images);
	if (!settings.names.empty()) {
		vmNames = settings.names;
		if (vmNames.size() != guests)
			throw UsageError(fmt::format("{}: {} for {}", settings.namesWhere,
						     plural(vmNames.size(), "name"), plural(guests, "guest")));
		for (const auto &name : vmNames)
			if (name.empty())
				throw UsageError(fmt::format("{}: empty VM name", settings.namesWhere));
		if (std::set<std::string>(vmNames.begin(), vmNames.end()).size() != vmNames.size())
			throw UsageError(fmt::format("{}: VM names must be unique", settings.namesWhere));
	}
	auto vmIndex = [&](const std::string &name, const std::string &where) {
		auto it = std::find(vmNames.begin(), vmNames.end(), name);
		if (it == vmNames.end())
			throw UsageError(fmt::format("{}: no VM named '{}'", where, name));
		return static_cast<std::size_t>(it - vmNames.begin());
	};
	if (settings.stdinVm)
		options.stdinVm = vmIndex(*settings.stdinVm, settings.stdinWhere);
	for (const ChannelSetting &given : settings.channels) {
		ChannelSpec spec;
		spec.producer = vmIndex(given.from, given.where);
		spec.consumer = vmIndex(given.to, given.where);
		if (spec.producer == spec.consumer)
			throw UsageError(fmt::format("{}: a channel joins two different VMs", given.where));
		spec.name = given.name.value_or(fmt::format("ch{}", options.channels.size()));
		spec.slots = given.slots.value_or(spec.slots);
		spec.maxSize = given.maxSize.value_or(spec.maxSize);
		options.channels.push_back(std::move(spec));
	}
	const std::vector<CpuMode> &modes = settings.modes;
	if (modes.size() > 1 && modes.size() != guests)
		throw UsageError(fmt::format("{}: {} for {} (give one, or one per guest)", settings.modesWhere,
					     plural(modes.size(), "mode"), plural(guests, "guest")));

	for (std::size_t i = 0; i < guests; ++i) {
		GuestConfig guest;
		guest.name = vmNames[i];
		guest.imagePath = settings.images[i];
		guest.memoryBytes = settings.memoryBytes;
		guest.pageSize = settings.pageSize;
		if (!modes.empty())
			guest.mode = modes.size() == 1 ? modes[0] : modes[i];
		guest.flatLoad = settings.flatLoad;
		guest.flatEntry = settings.flatEntry;
		guest.csBase = settings.csBase;
		// A Solo5 hvt guest brings its own page tables (up to 4 GiB).
		if (!hvt::isSolo5File(guest.imagePath))
			checkMemorySize(guest.memoryBytes, guest.mode, guest.pageSize, settings.memoryWhere);
		options.guests.push_back(std::move(guest));
	}
	applyHvt(settings, options, vmIndex);
	return options;
}

CommandLine parseCommandLine(const std::vector<std::string> &args)
{
	return parseCommandLine(args, defaultSettings());
}

CommandLine parseCommandLine(const std::vector<std::string> &args, Settings settings)
{
	// A misspelt long option: name the closest one (CLI11 only says it was
	// not expected).
	for (std::size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
		const std::string &token = args[i];
		if (token.size() < 3 || token.rfind("--", 0) != 0)
			continue;
		std::string name = token.substr(0, token.find('='));
		bool known = name == "--help" || name == "--version" ||
			     std::any_of(optionTable().begin(), optionTable().end(),
					 [&](const OptionDef &def) { return name == def.longName; });
		if (known)
			continue;
		std::string suggestion = closestOption(name);
		return usageError(suggestion.empty() ? fmt::format("unknown option {} (see --help)", name)
						     : fmt::format("unknown option {}; did you mean {}?", name, suggestion));
	}

	CLI::App app{ kDescription, "quanta" };
	app.footer(kFooter);
	app.set_version_flag("-V,--version", "quanta 0.1.0");
	std::vector<CLI::Option *> given;
	for (const OptionDef &def : optionTable()) {
		std::string names = def.shortName ? fmt::format("{},{}", def.shortName, def.longName) : def.longName;
		std::string help = def.help;
		if (def.defaultValue)
			help += fmt::format(" (default {})", def.defaultValue);
		CLI::Option *option = nullptr;
		if (def.kind == OptionKind::Flag) {
			option = app.add_flag(names)->description(help);
		} else {
			option = app.add_option(names)->description(help);
			option->type_name(def.typeName ? def.typeName : "TEXT");
			if (def.kind == OptionKind::Value)
				option->expected(1);
			else if (def.kind == OptionKind::Values)
				option->expected(1, -1)->allow_extra_args()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
			else
				option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
		}
		given.push_back(option);
	}

	std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
	try {
		app.parse(reversed);
	} catch (const CLI::CallForHelp &) {
		CommandLine result;
		result.message = app.help();
		return result;
	} catch (const CLI::CallForVersion &e) {
		CommandLine result;
		result.message = std::string(e.what()) + "\n";
		return result;
	} catch (const CLI::ParseError &e) {
		return usageError(fmt::format("{} (see --help)", e.what()));
	}

	try {
		if (given[static_cast<std::size_t>(&findOption("--guest") - optionTable().data())]->count())
			settings.forgetGuests();
		for (std::size_t i = 0; i < optionTable().size(); ++i) {
			const OptionDef &def = optionTable()[i];
			CLI::Option *option = given[i];
			if (!option->count())
				continue;
			OptionValue value{ true, def.longName };
			if (def.kind == OptionKind::Flag)
				value.data = !def.negated;
			else if (def.kind == OptionKind::Value)
				value.data = option->results().back();
			else
				value.data = option->results();
			def.apply(settings, value);
		}
		if (settings.images.empty() && !settings.options.kvmCheck)
			return usageError("--guest is required (see --help)");
		CommandLine result;
		result.options = resolve(settings, &result.warnings);
		return result;
	} catch (const UsageError &e) {
		return usageError(e.what());
	}
}

const OptionDef &findOption(const std::string &longName)
{
	for (const OptionDef &def : optionTable())
		if (longName == def.longName)
			return def;
	throw std::logic_error("no option " + longName);
}

} // namespace quanta
