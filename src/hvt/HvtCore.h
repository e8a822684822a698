// Guest core files for `quanta hvt --dumpcore=DIR`, as solo5-hvt writes
// them when a guest aborts: an ELF64 core (ET_CORE) with the vCPU's
// registers in an NT_PRSTATUS note (the trap frame's rip/rsp/flags/cs/ss
// when the guest handed one over) and guest memory as one PT_LOAD at
// address 0. Pages the guest never touched stay holes in the file.
#pragma once

#include <linux/kvm.h>
#include <optional>
#include <string>

#include "hvt/HvtAbi.h"
#include "memory/GuestMemory.h"

namespace quanta::hvt {

// The file name solo5-hvt uses (scripts look for it): core.solo5-hvt.PID.
std::string coreFileName(int pid);

// Writes DIR/NAME; returns the number of memory pages written. Throws
// HostError naming what failed.
std::size_t writeCore(const std::string &dir, const std::string &name, const GuestMemory &memory,
		      const kvm_regs &regs, const kvm_sregs &sregs, const std::optional<TrapFrame> &trap);

} // namespace quanta::hvt
