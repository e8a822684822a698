// Where the vCPUs' kvm_run areas are mapped, and unmapped together.
//
// Every munmap walks the MMU notifier of each live VM in the process, and
// a vCPU's kvm_run mapping keeps its VM alive. Unmapped one by one, N VMs
// cost about N*N/2 notifier calls at teardown (half of a 4096-VM run's
// time). So the areas are placed next to each other (each one asked for
// just below the last) and unmapped as few contiguous ranges, each with
// one munmap, when the arena goes.
#pragma once

#include <cstddef>
#include <vector>

namespace quanta {

class RunPageArena {
public:
	RunPageArena() = default;
	~RunPageArena();
	RunPageArena(const RunPageArena &) = delete;
	RunPageArena &operator=(const RunPageArena &) = delete;

	// Maps vcpuFd's kvm_run area (bytes from KVM_GET_VCPU_MMAP_SIZE);
	// throws HostError. The mapping, and so the VM, lasts as long as the
	// arena.
	void *map(int vcpuFd, std::size_t bytes);

	struct Range {
		std::byte *start;
		std::size_t bytes;
	};
	// The contiguous ranges the mappings form (what the destructor unmaps).
	std::vector<Range> ranges() const;

private:
	std::vector<Range> areas_;
};

} // namespace quanta
