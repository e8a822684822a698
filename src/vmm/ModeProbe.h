// Can this host's KVM run a CPU mode at all? Boots a 5-byte guest in it.
// Used by --kvm-check (every mode) and after a guest's first exit was a
// fault (its own mode: FaultHint.h).
#pragma once

#include <string>

#include "boot/Boot.h"
#include "kvm/Kvm.h"
#include "memory/Layout.h"

namespace quanta {

// Empty when the probe printed and halted, else what went wrong (the
// fault's diagnosis, or the error that stopped it).
std::string probeMode(const Kvm &kvm, CpuMode mode, PageSize pageSize);

} // namespace quanta
