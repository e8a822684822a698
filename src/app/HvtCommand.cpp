#include "app/HvtCommand.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "app/Options.h"
#include "app/Run.h"
#include "base/Error.h"
#include "hvt/HvtImage.h"

namespace quanta {

namespace {

constexpr int kHvtError = 1; // solo5-hvt exits 1 for every error

std::string usage()
{
	return "usage: quanta hvt [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]\n"
	       "KERNEL is the filename of the unikernel to run.\n"
	       "ARGS are optional arguments passed to the unikernel.\n"
	       "Core options:\n"
	       "  [ --mem=512 ] (guest memory in MB; up to 4096, mapped lazily)\n"
	       "    --help (display this help)\n"
	       "    --version (display version information)\n"
	       "Compiled-in modules: net block dumpcore\n"
	       "Compiled-in module options:\n"
	       "    --net:NAME=IFACE (attach tap at IFACE as network NAME; IFACE may be\n"
	       "      switch:SWITCH, a virtual switch inside quanta)\n"
	       "  [ --net-mac:NAME=HWADDR ] (set HWADDR for network NAME)\n"
	       "    --block:NAME=PATH (attach block device/file at PATH as block storage NAME)\n"
	       "  [ --block-sector-size:NAME=SECTORSIZE ] (set sector size for block device NAME;\n"
	       "      must be a power of two greater than or equal 512)\n"
	       "    --dumpcore=DIR (enable guest core dump on abort/trap)\n"
	       "Exit status: the unikernel's (255 after solo5_abort), 1 on any error.\n"
	       "Several unikernels, shares and reports: quanta -g KERNEL.hvt ... (see quanta --help).\n";
}

HvtCommandLine error(std::string line, bool withUsage = false)
{
	HvtCommandLine result;
	result.exitCode = kHvtError;
	result.message = "quanta hvt: " + line + "\n" + (withUsage ? usage() : "");
	result.messageIsError = true;
	return result;
}

bool startsWith(const std::string &text, const char *prefix)
{
	return text.rfind(prefix, 0) == 0;
}

} // namespace

std::optional<std::array<std::uint8_t, 6>> parseMac(const std::string &text)
{
	std::array<std::uint8_t, 6> mac{};
	if (text.size() != 17)
		return std::nullopt;
	for (std::size_t i = 0; i < 6; ++i) {
		auto hex = [](char c) -> int {
			if (c >= '0' && c <= '9')
				return c - '0';
			c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
			return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		};
		int high = hex(text[i * 3]), low = hex(text[i * 3 + 1]);
		if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':'))
			return std::nullopt;
		mac[i] = static_cast<std::uint8_t>(high * 16 + low);
	}
	return mac;
}

std::optional<std::pair<std::string, std::string>> parseDeviceAssignment(const std::string &text)
{
	std::size_t eq = text.find('=');
	if (eq == std::string::npos || eq == 0 || eq > hvt::kNameSize - 1 || eq + 1 == text.size())
		return std::nullopt;
	for (std::size_t i = 0; i < eq; ++i)
		if (!std::isalnum(static_cast<unsigned char>(text[i])))
			return std::nullopt;
	return std::pair{ text.substr(0, eq), text.substr(eq + 1) };
}

HvtCommandLine parseHvtCommand(const std::vector<std::string> &args)
{
	// First pass, as solo5-hvt: --help and --version win wherever they
	// stand before the kernel.
	std::size_t i = 2;
	for (; i < args.size() && startsWith(args[i], "-"); ++i) {
		if (args[i] == "--")
			break;
		if (args[i] == "--help" || args[i] == "-h")
			return { std::nullopt, 0, usage(), false };
		if (args[i] == "--version")
			return { std::nullopt, 0,
				 fmt::format("quanta hvt tender (Solo5 hvt guests)\nABI version {}\n", hvt::kAbiVersion),
				 false };
	}

	HvtRun run;
	for (i = 2; i < args.size() && startsWith(args[i], "-"); ++i) {
		const std::string &arg = args[i];
		if (arg == "--") {
			++i;
			break;
		}
		auto device = [&](const char *prefix) { return parseDeviceAssignment(arg.substr(std::strlen(prefix))); };
		if (startsWith(arg, "--mem=")) {
			std::string value = arg.substr(6);
			std::uint64_t mib = 0;
			bool ok = !value.empty() && value.size() < 8;
			for (char c : value)
				ok = ok && c >= '0' && c <= '9';
			if (ok)
				mib = std::stoull(value);
			if (!ok || mib == 0)
				return error("Malformed argument to --mem");
			run.memoryBytes = mib << 20;
		} else if (startsWith(arg, "--dumpcore=") && arg.size() > 11) {
			run.dumpcoreDir = arg.substr(11);
		} else if (startsWith(arg, "--block-sector-size:")) {
			auto assignment = device("--block-sector-size:");
			std::uint64_t size = 0;
			bool ok = assignment && assignment->second.size() < 6 &&
				  assignment->second.find_first_not_of("0123456789") == std::string::npos;
			if (ok)
				size = std::stoull(assignment->second);
			if (!ok)
				return error(fmt::format("Invalid option: `{}'", arg), true);
			try {
				run.devices.sectorSizes[assignment->first] = hvt::checkSectorSize(size);
			} catch (const UsageError &e) {
				return error(fmt::format("{} ({})", e.what(), arg));
			}
		} else if (startsWith(arg, "--block:")) {
			auto assignment = device("--block:");
			if (!assignment)
				return error(fmt::format("Invalid option: `{}'", arg), true);
			run.devices.blockPaths[assignment->first] = assignment->second;
		} else if (startsWith(arg, "--net-mac:")) {
			auto assignment = device("--net-mac:");
			auto mac = assignment ? parseMac(assignment->second) : std::nullopt;
			if (!mac)
				return error(fmt::format("Malformed argument to {} (HWADDR is xx:xx:xx:xx:xx:xx)", arg));
			run.devices.netMacs[assignment->first] = *mac;
		} else if (startsWith(arg, "--net:")) {
			auto assignment = device("--net:");
			if (!assignment)
				return error(fmt::format("Invalid option: `{}'", arg), true);
			run.devices.netTargets[assignment->first] = assignment->second;
		} else {
			return error(fmt::format("Invalid option: `{}'", arg), true);
		}
	}
	if (i >= args.size())
		return error("Missing KERNEL operand", true);
	run.kernel = args[i];
	run.args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
	return { std::move(run), 0, {}, false };
}

int hvtCommand(const std::vector<std::string> &args)
{
	HvtCommandLine cli = parseHvtCommand(args);
	if (!cli.run) {
		std::fputs(cli.message.c_str(), cli.messageIsError ? stderr : stdout);
		return cli.exitCode;
	}
	try {
		// solo5-hvt's checks first, with its words, even for a file that
		// is no Solo5 unikernel at all.
		hvt::readHvtImage(ImageFile::read(cli.run->kernel));
		Options options;
		GuestConfig guest;
		guest.name = std::filesystem::path(cli.run->kernel).stem().string();
		guest.imagePath = cli.run->kernel;
		guest.memoryBytes = cli.run->memoryBytes;
		guest.hvt = { std::move(cli.run->devices), std::move(cli.run->args), cli.run->dumpcoreDir };
		options.guests.push_back(std::move(guest));
		options.shares = { 1 };
		options.prefixOutput = false;
		options.report = Options::ReportMode::Never;
		options.status = false;
		options.guestExitStatus = true;
		return run(options);
	} catch (const std::exception &e) {
		// UsageError, HostError alike: solo5-hvt exits 1 for all of them.
		fmt::print(stderr, "quanta hvt: {}\n", e.what());
		return kHvtError;
	}
}

} // namespace quanta
