// `quanta hvt`: a drop-in for Solo5's solo5-hvt tender. It takes
// solo5-hvt's command line
//   quanta hvt [--mem=MiB] [--block:NAME=PATH] [--block-sector-size:NAME=N]
//              [--net:NAME=IFACE] [--net-mac:NAME=HWADDR] [--] KERNEL [ARGS...]
// and its exit statuses (the guest's own, 255 after solo5_abort, 1 for any
// error), so a script written for solo5-hvt runs quanta instead.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hvt/HvtDevices.h"

namespace quanta {

struct HvtRun {
	std::string kernel;
	std::uint64_t memoryBytes = 512ull << 20; // solo5-hvt's default
	hvt::DeviceArgs devices;
	std::vector<std::string> args; // the guest's command line
	std::string dumpcoreDir;       // --dumpcore=DIR
};

struct HvtCommandLine {
	std::optional<HvtRun> run; // set when the guest should run
	int exitCode = 0;          // otherwise: exit with this status...
	std::string message;       // ...after printing this
	bool messageIsError = false;
};

// args[0] is "quanta", args[1] is "hvt". Never throws.
HvtCommandLine parseHvtCommand(const std::vector<std::string> &args);

// Runs `quanta hvt ...`; returns the exit status.
int hvtCommand(const std::vector<std::string> &args);

// Parses a MAC address "xx:xx:xx:xx:xx:xx".
std::optional<std::array<std::uint8_t, 6>> parseMac(const std::string &text);

// One device option's NAME=VALUE after its prefix, with Solo5's name rule
// (1-67 letters and digits); nullopt when malformed.
std::optional<std::pair<std::string, std::string>> parseDeviceAssignment(const std::string &text);

} // namespace quanta
