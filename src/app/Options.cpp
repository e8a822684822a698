#include "app/Options.h"

#include <CLI/CLI.hpp>
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

Exit status: 0 all guests halted, 1 a guest faulted, 2 bad command line or
image, 3 host error (no usable /dev/kvm, a KVM ioctl failed).)";

std::uint64_t parseAddress(const std::string &option, const std::string &text)
{
	auto value = parseUnsigned(text);
	if (!value)
		throw UsageError(fmt::format("{}: '{}' is not an address (decimal or 0x hex)", option, text));
	return *value;
}

// Default VM names: the image's file name without extension, made unique.
std::vector<std::string> defaultNames(const std::vector<std::string> &paths)
{
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

	app.add_option("-m,--memory", memoryMiB, "guest memory in MiB: 2, 4 or 8")
		->check(CLI::IsMember({ 2u, 4u, 8u }))
		->default_val(2);
	app.add_option("-p,--page", pageKind, "page size: 4 (4 KiB) or 2 (2 MiB)")
		->check(CLI::IsMember({ 2u, 4u }))
		->default_val(4);
	app.add_option("-g,--guest", images, "guest images (ELF32, ELF64 or flat binary), one VM each")
		->required()
		->expected(1, -1);
	app.add_option("-f,--file", files, "files shared with every guest")->expected(1, -1);
	app.add_option("--mode", mode,
		       "CPU mode: real, protected, paged or long (default: long; ELF32 images: protected)")
		->check(CLI::IsMember({ "real", "protected", "paged", "long" }));
	app.add_option("--load", load, "load address of flat images (default 0)");
	app.add_option("--entry", entry, "entry point of flat images (default: the load address)");
	app.add_option("--cs-base", csBase, "real mode: code segment base (default: the load address)");
	app.add_option("--unknown-ports", unknownPorts,
		       "what an access to an unknown port does: fault (stop the VM) or ignore (count it, IN reads all ones)")
		->check(CLI::IsMember({ "fault", "ignore" }));
	app.add_flag("--no-prefix", noPrefix, "with several VMs, do not prefix output lines with the VM name");

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

	try {
		Options options;
		options.unknownPorts = unknownPorts == "ignore" ? UnknownPortPolicy::Ignore
								: UnknownPortPolicy::Fault;
		options.prefixOutput = !noPrefix;
		options.sharedFiles = files;
		std::vector<std::string> names = defaultNames(images);
		for (std::size_t i = 0; i < images.size(); ++i) {
			GuestConfig guest;
			guest.name = names[i];
			guest.imagePath = images[i];
			guest.memoryBytes = std::uint64_t{ memoryMiB } << 20;
			guest.pageSize = pageKind == 2 ? PageSize::Size2M : PageSize::Size4K;
			if (!mode.empty())
				guest.mode = parseCpuMode(mode);
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
